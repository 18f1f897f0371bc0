/* etcdjson.h: the JSON of etcd's v3 gateway (etcd 3.4, /v3/...), built
 * and parsed without I/O.
 *
 * The gateway encodes keys and values in base64 and 64-bit integers as
 * JSON strings ("123"); fields at their zero value are left out. The
 * parsers accept numbers written either way and treat a missing field
 * as zero. Every parser takes untrusted text (a fuzz target runs them)
 * and never reads past len. */
#ifndef REPLGUARD_ETCDJSON_H
#define REPLGUARD_ETCDJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETCD_MAX_KEY   512  /* decoded key bytes kept, NUL added */
#define ETCD_MAX_VALUE 2048 /* decoded value bytes kept, NUL added */

/* One key-value pair of a range answer. */
struct etcd_kv {
    char key[ETCD_MAX_KEY + 1];
    char value[ETCD_MAX_VALUE + 1];
    int64_t create_revision, mod_revision, lease;
    bool too_long; /* the value was over ETCD_MAX_VALUE: value is "" */
};

/* A parsed answer: the fields the request type has; the rest stay 0. */
struct etcd_reply {
    int64_t revision;    /* header.revision */
    int64_t id, ttl;     /* lease grant and keep-alive: ID, TTL */
    bool succeeded;      /* txn */
    struct etcd_kv *kvs; /* range, or a txn's first response_range */
    size_t n_kvs;
};

/* etcd_b64: base64 of len bytes of s, a NUL-terminated heap string. */
char *etcd_b64(const char *s, size_t len);
/* etcd_unb64: decodes the base64 text in into out (at most cap bytes,
 * then NUL-terminated: out has cap + 1 bytes). Returns the decoded
 * length, or -1 for bad base64 or one longer than cap. */
long etcd_unb64(const char *in, char *out, size_t cap);

/* etcd_range_end: the key just past every key starting with prefix (the
 * prefix with its last byte incremented), a heap string. */
char *etcd_range_end(const char *prefix);

/* Request bodies, heap strings the caller frees. */
char *etcd_grant_json(double ttl);
char *etcd_lease_json(int64_t id); /* keepalive, revoke */
char *etcd_range_json(const char *key, const char *range_end);
/* etcd_put_json: value at key, attached to lease (0: none). */
char *etcd_put_json(const char *key, const char *value, int64_t lease);
/* etcd_create_json: a txn putting value at key under lease only if key
 * does not exist (create_revision == 0), then reading every key that
 * starts with also_read (NULL: nothing more); otherwise reading key. */
char *etcd_create_json(const char *key, const char *value, int64_t lease,
                       const char *also_read);
/* etcd_fenced_json: a txn putting value at key (no lease; value NULL:
 * deleting key) only while owner_key's create revision is token (the
 * writer still owns it); otherwise reading owner_key. */
char *etcd_fenced_json(const char *owner_key, int64_t token, const char *key,
                       const char *value);
/* etcd_delete_if_json: a txn deleting key only if its value is value. */
char *etcd_delete_if_json(const char *key, const char *value);

/* etcd_parse: reads the answer body[0..len) into *r (free with
 * etcd_reply_free). A keep-alive answer's {"result": {...}} wrapper and
 * an {"error": ...} object are understood: an error returns -1. Returns
 * 0, or -1 for text that is not such an answer. At most max_kvs pairs
 * are kept; a pair whose key is not base64 or is over ETCD_MAX_KEY is
 * left out. */
int etcd_parse(const char *body, size_t len, size_t max_kvs,
               struct etcd_reply *r);
void etcd_reply_free(struct etcd_reply *r);

#endif
