/* test_list.c — the intrusive list: order, unlinking anywhere, walking, a second unlink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "list.h"

struct item {
	int v;
	struct list_head link;
};

/* The values of h front to back as digits. */
static int digits(struct list_head *h)
{
	struct item *it;
	int n = 0;

	list_for_each_entry(it, h, link) n = n * 10 + it->v;
	return n;
}

static void test_list(void **state)
{
	struct item a = {.v = 1}, b = {.v = 2}, c = {.v = 3};
	struct list_head h;

	list_init(&h);
	assert_true(list_empty(&h));
	assert_int_equal(digits(&h), 0);
	list_add(&a.link, &h);
	list_add(&b.link, &h);
	list_add(&c.link, &h);
	assert_false(list_empty(&h));
	assert_int_equal(digits(&h), 321);
	assert_ptr_equal(list_first_entry(&h, struct item, link), &c);
	list_del(&b.link);
	assert_int_equal(digits(&h), 31);
	list_del(&b.link);
	assert_int_equal(digits(&h), 31);
	list_del(&c.link);
	assert_ptr_equal(list_first_entry(&h, struct item, link), &a);
	list_del(&a.link);
	assert_true(list_empty(&h));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
