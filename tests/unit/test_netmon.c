/* test_netmon.c — rtnetlink address/route messages applied to the table, route lookups, a live
 * dump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "addr.h"
#include "netmon.h"

static char buf[4096];

static struct sockaddr_storage sa(const char *ip)
{
	struct sockaddr_storage ss;

	assert_int_equal(addr_parse_ip(ip, &ss, NULL), 0);
	return ss;
}

static void ip_bytes(const char *ip, uint8_t out[16], size_t *len)
{
	struct sockaddr_storage ss = sa(ip);

	if (ss.ss_family == AF_INET) {
		memcpy(out, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		*len = 4;
	} else {
		memcpy(out, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		*len = 16;
	}
}

static struct nlmsghdr *addr_msg(uint16_t type, const char *ip, uint8_t plen, uint8_t scope,
				 uint32_t flags, int ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	uint8_t b[16];
	size_t len;

	ip_bytes(ip, b, &len);
	nlh->nlmsg_type = type;
	ifa->ifa_family = len == 4 ? AF_INET : AF_INET6;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_scope = scope;
	ifa->ifa_index = (uint32_t)ifindex;
	mnl_attr_put(nlh, IFA_ADDRESS, len, b);
	mnl_attr_put_u32(nlh, IFA_FLAGS, flags);
	return nlh;
}

static struct nlmsghdr *route_msg(uint16_t type, const char *dst, uint8_t plen, uint8_t rtype,
				  uint32_t table, uint32_t prio)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	uint8_t b[16];
	size_t len;

	ip_bytes(dst, b, &len);
	nlh->nlmsg_type = type;
	rtm->rtm_family = len == 4 ? AF_INET : AF_INET6;
	rtm->rtm_dst_len = plen;
	rtm->rtm_type = rtype;
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	if (plen)
		mnl_attr_put(nlh, RTA_DST, len, b);
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	mnl_attr_put_u32(nlh, RTA_PRIORITY, prio);
	mnl_attr_put_u32(nlh, RTA_OIF, 2);
	return nlh;
}

static bool routed(const struct netmon_table *t, const char *ip)
{
	struct sockaddr_storage ss = sa(ip);

	return netmon_table_route(t, (struct sockaddr *)&ss);
}

static void test_addresses(void **state)
{
	struct netmon_table t = {0};

	assert_int_equal(netmon_table_apply(&t, addr_msg(RTM_NEWADDR, "2001:db8:6::1", 64,
							 RT_SCOPE_UNIVERSE, IFA_F_TENTATIVE, 3)),
			 1);
	assert_int_equal(t.naddrs, 1);
	assert_false(netmon_addr_usable(&t.addrs[0]));
	/* DAD finished: the same address again with other flags is an update, not a second entry.
	 */
	assert_int_equal(netmon_table_apply(&t, addr_msg(RTM_NEWADDR, "2001:db8:6::1", 64,
							 RT_SCOPE_UNIVERSE, 0, 3)),
			 1);
	assert_int_equal(t.naddrs, 1);
	assert_true(netmon_addr_usable(&t.addrs[0]));
	assert_int_equal(netmon_table_apply(&t, addr_msg(RTM_NEWADDR, "2001:db8:6::1", 64,
							 RT_SCOPE_UNIVERSE, 0, 3)),
			 0);
	assert_int_equal(netmon_table_apply(&t, addr_msg(RTM_NEWADDR, "fe80::1", 64, RT_SCOPE_LINK,
							 IFA_F_PERMANENT, 3)),
			 1);
	assert_false(netmon_addr_usable(&t.addrs[1]));
	assert_int_equal(netmon_table_apply(&t, addr_msg(RTM_NEWADDR, "203.0.113.1", 24,
							 RT_SCOPE_UNIVERSE, IFA_F_PERMANENT, 4)),
			 1);
	assert_int_equal(t.addrs[2].family, AF_INET);
	assert_memory_equal(t.addrs[2].addr, "\xcb\x00\x71\x01", 4);
	assert_int_equal(netmon_table_apply(&t, addr_msg(RTM_DELADDR, "2001:db8:6::1", 64,
							 RT_SCOPE_UNIVERSE, 0, 3)),
			 1);
	assert_int_equal(t.naddrs, 2);
	assert_int_equal(netmon_table_apply(&t, addr_msg(RTM_DELADDR, "2001:db8:6::1", 64,
							 RT_SCOPE_UNIVERSE, 0, 3)),
			 0);
	netmon_table_clear(&t);
}

static bool local(const struct netmon_table *t, const char *ip)
{
	struct sockaddr_storage ss = sa(ip);

	return netmon_table_local(t, (struct sockaddr *)&ss);
}

/* The host's own addresses, and local routes (127.0.0.0/8, AnyIP), whatever the spelling. */
static void test_local(void **state)
{
	struct netmon_table t = {0};

	netmon_table_apply(&t, addr_msg(RTM_NEWADDR, "203.0.113.1", 24, RT_SCOPE_UNIVERSE, 0, 4));
	netmon_table_apply(&t, addr_msg(RTM_NEWADDR, "2001:db8:6::1", 64, RT_SCOPE_UNIVERSE, 0, 3));
	netmon_table_apply(&t,
			   route_msg(RTM_NEWROUTE, "127.0.0.0", 8, RTN_LOCAL, RT_TABLE_LOCAL, 0));
	netmon_table_apply(&t,
			   route_msg(RTM_NEWROUTE, "198.18.0.0", 15, RTN_LOCAL, RT_TABLE_LOCAL, 0));
	netmon_table_apply(&t, route_msg(RTM_NEWROUTE, "203.0.113.0", 24, RTN_UNICAST, 254, 0));
	assert_true(local(&t, "203.0.113.1"));
	assert_true(local(&t, "::ffff:203.0.113.1"));
	assert_true(local(&t, "2001:db8:6::1"));
	assert_true(local(&t, "127.9.9.9"));
	assert_true(local(&t, "198.19.0.7"));
	assert_false(local(&t, "203.0.113.2"));
	assert_false(local(&t, "2001:db8:6::2"));
	assert_false(local(&t, "198.20.0.1"));
	netmon_table_clear(&t);
}

static void test_routes(void **state)
{
	struct netmon_table t = {0};

	assert_false(routed(&t, "2001:db8:6::2"));
	assert_int_equal(netmon_table_apply(&t, route_msg(RTM_NEWROUTE, "2001:db8:6::", 64,
							  RTN_UNICAST, RT_TABLE_MAIN, 256)),
			 1);
	assert_true(routed(&t, "2001:db8:6::2"));
	assert_false(routed(&t, "2001:db8:7::2"));
	assert_false(routed(&t, "203.0.113.2"));
	/* A more specific unreachable route in the same table wins. */
	netmon_table_apply(&t, route_msg(RTM_NEWROUTE, "2001:db8:6::99", 128, RTN_UNREACHABLE,
					 RT_TABLE_MAIN, 1024));
	assert_false(routed(&t, "2001:db8:6::99"));
	assert_true(routed(&t, "2001:db8:6::98"));
	/* ...unless another table routes it. */
	netmon_table_apply(&t, route_msg(RTM_NEWROUTE, "::", 0, RTN_UNICAST, 1000, 0));
	assert_true(routed(&t, "2001:db8:6::99"));
	assert_true(routed(&t, "2001:db8:7::2"));
	netmon_table_apply(&t, route_msg(RTM_DELROUTE, "::", 0, RTN_UNICAST, 1000, 0));
	assert_false(routed(&t, "2001:db8:7::2"));
	/* IPv4, a default route, v4-mapped destinations, and a lower metric blackhole. */
	netmon_table_apply(&t,
			   route_msg(RTM_NEWROUTE, "0.0.0.0", 0, RTN_UNICAST, RT_TABLE_MAIN, 100));
	assert_true(routed(&t, "198.51.100.7"));
	assert_true(routed(&t, "::ffff:198.51.100.7"));
	netmon_table_apply(&t,
			   route_msg(RTM_NEWROUTE, "0.0.0.0", 0, RTN_BLACKHOLE, RT_TABLE_MAIN, 10));
	assert_false(routed(&t, "198.51.100.7"));
	netmon_table_apply(&t,
			   route_msg(RTM_DELROUTE, "0.0.0.0", 0, RTN_BLACKHOLE, RT_TABLE_MAIN, 10));
	assert_true(routed(&t, "198.51.100.7"));
	netmon_table_apply(
	    &t, route_msg(RTM_DELROUTE, "2001:db8:6::", 64, RTN_UNICAST, RT_TABLE_MAIN, 256));
	assert_false(routed(&t, "2001:db8:6::2"));
	assert_int_equal(t.nroutes, 2);
	/* Multicast routes carry traffic; a throw route does not. */
	assert_false(routed(&t, "ff02::1"));
	netmon_table_apply(
	    &t, route_msg(RTM_NEWROUTE, "ff00::", 8, RTN_MULTICAST, RT_TABLE_LOCAL, 256));
	assert_true(routed(&t, "ff02::1"));
	netmon_table_apply(
	    &t, route_msg(RTM_NEWROUTE, "198.51.100.0", 24, RTN_THROW, RT_TABLE_MAIN, 0));
	assert_false(routed(&t, "198.51.100.7"));
	assert_true(routed(&t, "198.51.101.7"));
	netmon_table_clear(&t);
}

static void test_malformed(void **state)
{
	struct netmon_table t = {0};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	/* No payload at all. */
	nlh->nlmsg_type = RTM_NEWADDR;
	assert_int_equal(netmon_table_apply(&t, nlh), -EBADMSG);
	/* An IPv6 address attribute of IPv4 length. */
	nlh = addr_msg(RTM_NEWADDR, "203.0.113.1", 24, 0, 0, 1);
	((struct ifaddrmsg *)mnl_nlmsg_get_payload(nlh))->ifa_family = AF_INET6;
	assert_int_equal(netmon_table_apply(&t, nlh), -EBADMSG);
	/* A prefix longer than the family. */
	nlh = route_msg(RTM_NEWROUTE, "203.0.113.0", 24, RTN_UNICAST, RT_TABLE_MAIN, 0);
	rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_dst_len = 33;
	assert_int_equal(netmon_table_apply(&t, nlh), -EBADMSG);
	/* Other families and cloned routes are ignored. */
	nlh = route_msg(RTM_NEWROUTE, "203.0.113.0", 24, RTN_UNICAST, RT_TABLE_MAIN, 0);
	((struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_flags = RTM_F_CLONED;
	assert_int_equal(netmon_table_apply(&t, nlh), 0);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	assert_int_equal(netmon_table_apply(&t, nlh), 0);
	assert_int_equal(t.naddrs + t.nroutes, 0);
	netmon_table_clear(&t);
}

/* The real tables of this namespace: loopback is always there. */
static void test_live_dump(void **state)
{
	struct netmon *nm = NULL;
	int err = netmon_new(&nm);
	struct sockaddr_storage lo = sa("127.0.0.1"), other = sa("127.0.0.2");

	assert_non_null(nm);
	assert_int_equal(err, 0);
	assert_true(netmon_has_route(nm, (struct sockaddr *)&lo));
	/* 127.0.0.0/8 is one local route: any address in it has a route. */
	assert_true(netmon_has_route(nm, (struct sockaddr *)&other));
	assert_true(netmon_is_local(nm, (struct sockaddr *)&other));
	netmon_free(nm);
	/* Without a monitor every question is answered permissively. */
	assert_true(netmon_has_route(NULL, (struct sockaddr *)&other));
	assert_true(netmon_family_usable(NULL, AF_INET6));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addresses), cmocka_unit_test(test_local),
	    cmocka_unit_test(test_routes),    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_live_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
