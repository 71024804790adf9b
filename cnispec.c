/* SPDX-License-Identifier: Apache-2.0 */
/* The CNI specification's documents.  A request is read and checked
 * before anything is touched: the CNI_* variables and the plugin
 * configuration the runtime writes to stdin, prevResult included.  Keys
 * this plugin does not know are ignored, as the specification asks; keys
 * it knows but cannot honour are refused with code 2 and their value,
 * never silently dropped.  Results and errors are written here too: a
 * chained plugin's prevResult is passed on, ours appended to it. */
#include <errno.h>
#include <string.h>

#include "pelagos.h"

#define FAIL(code, ...) (err_msg(e, EINVAL, __VA_ARGS__), (code))

/* Lists of words are NUL-separated strings, read with word(): no table
 * of pointers. */
static const char versions[] = "0.3.0\0" "0.3.1\0" "0.4.0\0" "1.0.0\0" "1.1.0";
#define NVERSIONS 5
static const char cmds[] = "ADD\0DEL\0CHECK\0GC\0STATUS\0VERSION";
static const unsigned char version_num[] = { 30, 31, 40, 100, 110 };

/* The k-th word of list. */
static const char *
word(const char *list, int k)
{
	while (k-- > 0)
		list += util_strlen(list) + 1;
	return list;
}

int
cni_req_env(struct cni_req *r, const char *cmd, const char *id,
	const char *netns, const char *ifname, struct pelagos_err *e)
{
	int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < 6 && strcmp(cmd, word(cmds, i)); i++)
		;
	if (i == 6)
		return FAIL(CNI_E_ENV, "CNI_COMMAND %.16s is unknown", cmd);
	r->cmd = (enum cni_cmd)i;
	r->netns = netns ? netns : "";
	if (r->cmd > CNI_CHECK)
		return 0;
	cmd = !id || !valid_cni_id(id) ? "CONTAINERID" :
	    !ifname || !valid_ifname(ifname) ? "IFNAME" :
	    (r->cmd != CNI_DEL && r->netns[0] != '/') ||
	    util_strlen(r->netns) > 255 ? "NETNS" : NULL;
	if (cmd)
		return FAIL(CNI_E_ENV, "CNI_%s is missing or invalid", cmd);
	util_strcpy(r->ifname, ifname);
	util_fmt(r->key, sizeof(r->key), "%s/%s", id, ifname);
	return 0;
}

/* A string member of obj into buf: 0, 1 when absent or null, -1 when it
 * is no string or too long. */
static int
str_at(const struct json *j, int t, char *buf, size_t len)
{
	buf[0] = '\0';
	if (t < 0 || (json_type(j, t) == JSON_PRIMITIVE &&
	    j->js[j->tok[t].start] == 'n'))
		return 1;
	return json_string(j, t, buf, len) < 0 ? -1 : 0;
}

static int
get_str(const struct json *j, int obj, const char *key, char *buf,
	size_t len)
{
	return str_at(j, json_get(j, obj, key), buf, len);
}

/* prevResult's lists, and where CHECK finds what ADD reported: the
 * interface named CNI_IFNAME, its MAC and its addresses. */
static int __attribute__((noinline))
prev_result(struct cni_req *r)
{
	const struct json *j = r->j;
	char s[48], *slash;
	unsigned long long v;
	int t, k, want = -1;

	for (k = 0; k < 3; k++)
		if ((r->prev_list[k] = json_get(j, r->prev,
		    word("interfaces\0ips\0routes", k))) >= 0 &&
		    json_type(j, r->prev_list[k]) != JSON_ARRAY)
			return -1;
	for (t = json_next(j, r->prev_list[PREV_IFS], -1); t >= 0;
	    t = json_next(j, r->prev_list[PREV_IFS], t), r->nprev_ifs++)
		if (get_str(j, t, "name", s, IFNAME_LEN) == 0 &&
		    !strcmp(s, r->ifname)) {
			want = r->nprev_ifs;
			get_str(j, t, "mac", r->want_mac, sizeof(r->want_mac));
		}
	for (t = json_next(j, r->prev_list[PREV_IPS], -1); t >= 0;
	    t = json_next(j, r->prev_list[PREV_IPS], t))
		if (json_uint(j, json_get(j, t, "interface"), 1000, &v) == 0 &&
		    (int)v == want && !get_str(j, t, "address", s, sizeof(s)) &&
		    (slash = util_strchr(s, '/')) &&
		    util_parse_ull(slash + 1, NULL, 128, &v) == 0) {
			if (ipam_parse_ip(s, slash, &r->want_ip) == 0)
				r->want_prefix = (int)v;
			else if (ipam_parse_ip6(s, slash, r->want6.net) == 0)
				r->want6.prefix = (int)v;
		}
	return 0;
}

/* The keys read, in the order they are checked; a key at fault is named
 * in the error with its value. */
enum { K_VERSION, K_NAME, K_BRIDGE, K_SUBNET, K_GATEWAY, K_DIR, K_SUBNET6,
	NSTR, K_DEFGW = NSTR, K_MASQ, K_MTU, K_DNS, K_PREV, K_IPAM, K_PORTS,
	K_VALID, NKEYS };
static const char keys[] = "cniVersion\0name\0bridge\0subnet\0gateway\0"
	"dataDir\0subnet6\0isDefaultGateway\0ipMasq\0mtu\0dns\0prevResult\0"
	"ipam\0runtimeConfig.portMappings\0cni.dev/valid-attachments";

/* runtimeConfig.portMappings, as the portmap plugin takes them
 * ({"hostPort","containerPort","protocol","hostIP"}), made the words of
 * --publish and checked as those are. */
static int
port_words(struct cni_req *r, int list)
{
	struct fw_port items[FW_MAX_PORTS];
	unsigned long long hp, cp;
	char ip[16], proto[4];
	size_t n = 0;
	int t;

	if (json_type(r->j, list) != JSON_ARRAY)
		return -1;
	for (t = json_next(r->j, list, -1); t >= 0; t = json_next(r->j, list,
	    t)) {
		/* Past the end, the words are too many already. */
		if (n + 1 >= sizeof(r->ports) ||
		    json_uint(r->j, json_get(r->j, t, "hostPort"), 65535, &hp) ||
		    json_uint(r->j, json_get(r->j, t, "containerPort"), 65535,
		    &cp) || get_str(r->j, t, "hostIP", ip, sizeof(ip)) < 0 ||
		    get_str(r->j, t, "protocol", proto, sizeof(proto)) < 0)
			return -1;
		n += util_fmt(r->ports + n, sizeof(r->ports) - n,
		    &",%s%s%u:%u/%s"[!n], ip, ip[0] ? ":" : "", (unsigned)hp,
		    (unsigned)cp, proto[0] ? proto : "tcp");
	}
	return n + 1 >= sizeof(r->ports) ? -1 :
	    fwspec_list(r->ports, items, &n, 0);
}

/* One exit for every key at fault: kept out of line, or the compiler
 * copies it to each of the places that jump to it. */
static int __attribute__((noinline))
bad_key(const struct json *j, int t, int k, int code, struct pelagos_err *e)
{
	const char *raw = "";
	size_t n = 0;

	if (t >= 0)
		raw = json_raw(j, t, &n);
	err_msg(e, EINVAL, "%s%s%.*s is %s", word(keys, k), t < 0 ? "" : "=",
	    (int)(n > 64 ? 64 : n), raw,
	    code == CNI_E_FIELD ? "not supported" : t < 0 ? "missing" :
	    "invalid");
	return code;
}

int
cni_req_conf(struct cni_req *r, struct json *j, const char *js, size_t len,
	struct pelagos_err *e)
{
	char str[NSTR][256];
	unsigned long long mtu = 0;
	int t[NKEYS], k, code = CNI_E_CONFIG;

	r->j = j;
	r->prev_list[0] = r->prev_list[1] = r->prev_list[2] = -1;
	if (json_parse(j, js, len) < 0) {
		err_os(e, "configuration on stdin (%zu bytes)", len);
		return CNI_E_DECODE;
	}
	for (k = 0; k < NKEYS; k++) {
		/* runtimeConfig.portMappings is portMappings in
		 * runtimeConfig. */
		t[k] = k == K_PORTS ? json_get(j, json_get(j, 0,
		    "runtimeConfig"), word(keys, k) + 14) :
		    json_get(j, 0, word(keys, k));
		if (k < NSTR && str_at(j, t[k], str[k], sizeof(str[k])) < 0)
			goto bad;
	}
	r->dns = t[K_DNS];
	r->prev = t[K_PREV];
	r->valid = t[K_VALID];
	for (k = 0; k < NVERSIONS && strcmp(str[K_VERSION], word(versions,
	    k)); k++)
		;
	if (k == NVERSIONS)
		return FAIL(CNI_E_VERSION, "cniVersion '%.15s' is not supported",
		    str[K_VERSION]);
	util_strcpy(r->version, str[K_VERSION]);
	r->ver = version_num[k];
	if ((r->cmd == CNI_CHECK && r->ver < 40) ||
	    ((r->cmd == CNI_GC || r->cmd == CNI_STATUS) && r->ver < 110))
		return FAIL(CNI_E_VERSION, "cniVersion %s has no %s",
		    r->version, word(cmds, r->cmd));
	if (r->cmd == CNI_VERSION)
		return 0;
	if (!str[K_BRIDGE][0])
		util_strcpy(str[K_BRIDGE], DEF_CNI_BRIDGE);
	if (!str[K_DIR][0])
		util_strcpy(str[K_DIR], DEF_CNI_DIR);
	/* Each check leaves k at the key it is about. */
	if (!valid_name(str[k = K_NAME]) || !valid_ifname(str[k = K_BRIDGE]) ||
	    ipam_parse_subnet(str[k = K_SUBNET], &r->sn) < 0)
		goto bad;
	r->gw = r->sn.net + 1;
	if ((str[k = K_GATEWAY][0] && (ipam_parse_ip(str[K_GATEWAY], NULL,
	    &r->gw) < 0 || r->gw <= r->sn.net ||
	    r->gw >= (r->sn.net | ~ipam_mask(r->sn.prefix)))) ||
	    str[k = K_DIR][0] != '/')
		goto bad;
	/* isDefaultGateway and ipMasq are booleans, mtu a number, dns and
	 * prevResult objects. */
	for (k = K_DEFGW; k <= K_PREV; k++)
		if (t[k] >= 0 && (k == K_MTU ? json_uint(j, t[k], 65535,
		    &mtu) || mtu < 68 : k < K_MTU ? json_bool(j, t[k],
		    k == K_DEFGW ? &r->defroute : &r->masq) :
		    json_type(j, t[k]) != JSON_OBJECT))
			goto bad;
	/* The IPv6 address is the IPv4 lease's host number in subnet6,
	 * which must have room for all of them (attach.c). */
	if ((str[k = K_SUBNET6][0] && (ipam_parse_subnet6(str[K_SUBNET6],
	    &r->sn6) < 0 || r->sn6.prefix > r->sn.prefix + 96)) ||
	    (t[k = K_PORTS] >= 0 && port_words(r, t[K_PORTS]) < 0) ||
	    (r->cmd == CNI_CHECK && t[k = K_PREV] < 0) ||
	    (r->cmd == CNI_GC && json_type(j, t[k = K_VALID]) != JSON_ARRAY) ||
	    (r->prev >= 0 && r->cmd != CNI_DEL && prev_result(r) < 0))
		goto bad;
	util_strcpy(r->name, str[K_NAME]);
	util_strcpy(r->bridge, str[K_BRIDGE]);
	util_fmt(r->dir, sizeof(r->dir), "%s/%s", str[K_DIR], r->name);
	r->mtu = (unsigned int)mtu;
	/* ipam: this plugin is its own IPAM. */
	code = CNI_E_FIELD;
	if (t[k = K_IPAM] >= 0)
		goto bad;
	return 0;
bad:
	return bad_key(j, t[k], k, code, e);
}

/* Whether the attachment "<id>/<ifname>" is in cni.dev/valid-attachments. */
int
cni_valid(const struct cni_req *r, const char *key)
{
	char want[CNI_KEY_LEN], ifname[IFNAME_LEN];
	int t;

	for (t = json_next(r->j, r->valid, -1); t >= 0;
	    t = json_next(r->j, r->valid, t))
		if (get_str(r->j, t, "containerID", want, CNI_ID_MAX + 1) ==
		    0 && get_str(r->j, t, "ifname", ifname, IFNAME_LEN) == 0 &&
		    util_fmt(want + util_strlen(want), IFNAME_LEN + 1, "/%s",
		    ifname) && !strcmp(want, key))
			return 1;
	return 0;
}

/* prevResult's entries of one list, each after a ',' but the first;
 * whether there were any. */
static int
prev_entries(const struct cni_req *r, int list)
{
	int t, any = 0;
	const char *raw;
	size_t n;

	for (t = json_next(r->j, r->prev_list[list], -1); t >= 0;
	    t = json_next(r->j, r->prev_list[list], t)) {
		raw = json_raw(r->j, t, &n);
		util_out(&",%.*s"[!any++], (int)n, raw);
	}
	return any;
}

/* The ADD result on stdout, shaped as the bridge plugin's: the bridge,
 * the host end and the container's interface, the address on the last of
 * them, the default route with isDefaultGateway, and dns as configured
 * (else as prevResult had it). */
void
cni_result(const struct cni_req *r, const struct cni_att *a)
{
	const struct pod_if *pi = &a->pi;
	char ip[2][40], gw[2][40], mac[18], v[] = "\"version\":\"4\",";
	const char *raw = "{}";
	size_t n = 2;
	int i, more, nfam = 1 + !!pi->prefix6;

	ipam_format_ip(pi->ip, ip[0]);
	ipam_format_ip(pi->gateway, gw[0]);
	ipam_format_ip6(pi->ip6, ip[1]);
	ipam_format_ip6(pi->gateway6, gw[1]);
	util_out("{\"cniVersion\":\"%s\",\"interfaces\":[", r->version);
	more = prev_entries(r, PREV_IFS);
	for (i = 0; i < 3; i++, more = 1) {
		ipam_format_mac(a->link[i].mac, mac);
		util_out(&",{\"name\":"[!more]);
		json_put(a->link[i].name);
		util_out(",\"mac\":\"%s\"%s", mac, i == 2 ? ",\"sandbox\":" : "}");
	}
	json_put(r->netns);
	util_out("}],\"ips\":[");
	more = prev_entries(r, PREV_IPS);
	/* 0.x results name each address's version: v, then with '6'. */
	for (i = 0; i < nfam; i++, more = 1, v[11] = '6')
		util_out(&",{%.*s\"interface\":%d,\"address\":\"%s/%d\","
		    "\"gateway\":\"%s\"}"[!more], r->ver < 100 ? 14 : 0, v,
		    r->nprev_ifs + 2, ip[i], i ? pi->prefix6 : pi->prefix, gw[i]);
	util_out("],\"routes\":[");
	more = prev_entries(r, PREV_ROUTES);
	for (i = 0; r->defroute && i < nfam; i++, more = 1)
		util_out(&",{\"dst\":\"%s\",\"gw\":\"%s\"}"[!more],
		    word("0.0.0.0/0\0::/0", i), gw[i]);
	if (r->dns >= 0)
		raw = json_raw(r->j, r->dns, &n);
	else if ((i = json_get(r->j, r->prev, "dns")) >= 0)
		raw = json_raw(r->j, i, &n);
	util_out("],\"dns\":%.*s}\n", (int)n, raw);
}

/* The error object on stdout: msg says what failed on which object
 * (the key at fault and its value, the call and its object), details the
 * OS error, if one. */
void
cni_error(const struct cni_req *r, int code, const struct pelagos_err *e)
{
	util_out("{\"cniVersion\":\"%s\",\"code\":%d,\"msg\":",
	    r->ver ? r->version : "1.1.0", code);
	json_put(e->what);
	util_out(",\"details\":\"%s\"}\n", e->os ? strerror(e->os) : "");
}

/* VERSION answers in the version it was asked in. */
void
cni_version_result(const struct cni_req *r)
{
	int i;

	util_out("{\"cniVersion\":\"%s\",\"supportedVersions\":[",
	    r->ver ? r->version : "1.1.0");
	for (i = 0; i < NVERSIONS; i++)
		util_out(&",\"%s\""[!i], word(versions, i));
	util_out("]}\n");
}
