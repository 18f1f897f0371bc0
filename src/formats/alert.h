/* alert.h: a pure parser for Alertmanager's webhook payload, version 4
 * (as Alertmanager 0.25 sends it to a webhook receiver).
 *
 *   struct alert_payload *p = NULL;
 *   char err[256];
 *   int rc = alert_parse(body, len, &p, err, sizeof(err));
 *   if (rc == ALERT_ERR_VERSION)
 *       ... 400 {"error": "unsupported payload version"}
 *   else if (rc < 0)
 *       ... 400 {"error": err}
 *   for (size_t i = 0; i < p->nalerts; i++)
 *       ... labels_get(&p->alerts[i].labels, "replica")
 *   alert_payload_free(p);
 *
 * The parser does no I/O, reads exactly len bytes (no NUL terminator
 * needed) and keeps no cJSON tree: the result is plain C structs in one
 * allocation arena owned by the payload, freed by alert_payload_free().
 *
 * What is accepted (decisions where Alertmanager leaves room):
 * - The body is one JSON object, optionally followed by whitespace. No NUL
 *   byte anywhere, no raw control character and no "\u0000" inside a
 *   string, every string valid UTF-8. Containers nest at most
 *   ALERT_MAX_DEPTH deep (the top-level object is depth 1), checked by a
 *   scan before the JSON parser sees the text.
 * - Required: "version" (the string "4"; checked first, so a payload of
 *   another version fails with ALERT_ERR_VERSION whatever else it holds),
 *   "status", "alerts"; per alert "status", "labels", "startsAt" and
 *   "fingerprint". A required field that is absent or null is
 *   ALERT_ERR_MISSING.
 * - Optional: "receiver", "groupKey", "externalURL" and per alert
 *   "generatorURL" (absent or null: ""), "truncatedAlerts" (absent or
 *   null: 0; else a whole number in [0, 2^53]), "groupLabels",
 *   "commonLabels", "commonAnnotations" and per alert "annotations"
 *   (absent or null: empty), "endsAt" (absent or null: unset). A field
 *   that is present must have its type. Unknown fields are ignored.
 * - Statuses are "firing" or "resolved". Label and annotation sets are
 *   objects of strings with non-empty, unique names of at most
 *   ALERT_MAX_NAME bytes. The character set of names is not restricted
 *   (newer Alertmanagers allow UTF-8 names); alert_label_env_name() makes
 *   them safe for the environment.
 * - What is legal for Alertmanager is accepted; what is kept is bounded
 *   (the caller caps the body): label sets (labels, groupLabels,
 *   commonLabels) are kept whole, however many entries, but a label
 *   value over ALERT_MAX_VALUE bytes is ALERT_ERR_LIMIT (cutting it
 *   could make it name another cluster or node); annotation sets keep
 *   their first ALERT_MAX_LABELS entries in name order, and every other
 *   string (annotation values, URLs, receiver, groupKey) is kept cut to
 *   ALERT_MAX_VALUE bytes at a UTF-8 boundary. payload->trimmed counts
 *   what was cut or dropped.
 * - "alerts" is an array of at most ALERT_MAX_ALERTS objects (an empty
 *   array is accepted). "fingerprint" is 1 to ALERT_MAX_FINGERPRINT hex
 *   digits (Alertmanager sends 16). "startsAt" must be set (not the zero
 *   time); "endsAt" may be the zero time. Times are read by
 *   alert_parse_time().
 * - Not checked: that statuses agree with endsAt, that commonLabels are
 *   common, that groupKey matches groupLabels. */
#ifndef REPLGUARD_ALERT_H
#define REPLGUARD_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/labels.h"

/* Deepest accepted nesting of JSON containers; the top object is 1. */
#define ALERT_MAX_DEPTH 64
/* Most alerts accepted in one payload. */
#define ALERT_MAX_ALERTS 10000
/* Most entries kept of one annotation set (label sets are kept whole). */
#define ALERT_MAX_LABELS 128
/* Longest accepted label or annotation name, in bytes. */
#define ALERT_MAX_NAME 1024
/* Longest label value accepted, longest other string kept, in bytes. */
#define ALERT_MAX_VALUE 65536
/* Longest accepted fingerprint, in hex digits. */
#define ALERT_MAX_FINGERPRINT 64
/* Room alert_dedupe_key() needs, terminator included. */
#define ALERT_DEDUPE_KEY_MAX 128

/* What alert_parse() returns: ALERT_OK, or on failure which kind. */
enum alert_error {
    ALERT_OK = 0,           /* parsed */
    ALERT_ERR_SYNTAX = -1,  /* not JSON: syntax, NUL byte, bad UTF-8 */
    ALERT_ERR_VERSION = -2, /* "version" is a string other than "4" */
    ALERT_ERR_LIMIT = -3,   /* nesting, alert count, set or string size */
    ALERT_ERR_MISSING = -4, /* a required field is absent or null */
    ALERT_ERR_TYPE = -5,    /* a field has the wrong JSON type */
    ALERT_ERR_VALUE = -6,   /* right type, bad value (status, time...) */
};

enum alert_status {
    ALERT_FIRING = 1,
    ALERT_RESOLVED = 2,
};

/* An instant read from an RFC 3339 time. */
struct alert_time {
    int64_t sec;    /* Unix seconds, rounded down */
    int32_t nsec;   /* 0 .. 999999999, added to sec */
    double seconds; /* sec + nsec / 1e9 as one number */
    bool unset;     /* Go's zero time 0001-01-01T00:00:00Z (all else 0) */
};

struct alert {
    enum alert_status status;
    struct labels labels;
    struct labels annotations;
    struct alert_time starts_at;
    struct alert_time ends_at;
    const char *generator_url; /* "" when absent */
    const char *fingerprint;
};

/* A parsed payload. Every pointer in it points into memory the payload
 * owns; all of it goes with alert_payload_free(). Every label set in it
 * is sorted (lib/labels.h), so labels_get() reads it. */
struct alert_payload {
    const char *version; /* always "4" */
    enum alert_status status;
    const char *receiver;  /* "" when absent */
    const char *group_key; /* "" when absent */
    uint64_t truncated_alerts;
    struct labels group_labels;
    struct labels common_labels;
    struct labels common_annotations;
    const char *external_url; /* "" when absent */
    size_t trimmed; /* strings cut and annotations dropped (see above) */
    const struct alert *alerts;
    size_t nalerts;
    struct alert_arena *arena_; /* private */
};

/* alert_parse: parses the len bytes at data (NUL termination not needed)
 * as a version 4 webhook payload. On success stores a new payload in *out
 * that the caller frees with alert_payload_free() and returns ALERT_OK. On
 * failure stores NULL in *out, returns one of ALERT_ERR_* and writes the
 * reason, prefixed by the path of the offending field, to err (errlen
 * bytes, always terminated when errlen > 0), as in
 * "alerts[3].startsAt: not an RFC 3339 time: ...". */
enum alert_error alert_parse(const char *data, size_t len,
                             struct alert_payload **out, char *err,
                             size_t errlen);

/* alert_payload_free: frees p and everything it points to. NULL is a
 * no-op. */
void alert_payload_free(struct alert_payload *p);

/* alert_error_name: a short static name for an ALERT_ERR_* code
 * ("syntax", "version", "limit", "missing", "type", "value"), "ok" for 0,
 * "unknown" for anything else. */
const char *alert_error_name(int code);

/* alert_parse_time: parses the len bytes at s as an RFC 3339 time:
 * YYYY-MM-DD "T" hh:mm:ss, an optional fraction of one or more digits
 * (digits past the ninth are dropped, not rounded), then "Z" or a numeric
 * offset +hh:mm / -hh:mm. "t" and "z" are accepted as RFC 3339 allows;
 * a space for "T" and leap second 60 are not (Go never writes them). No
 * local time zone is involved. The instant of Go's zero time
 * (0001-01-01T00:00:00Z) is stored as unset with every other field 0.
 * Returns 0, or -1 with a static reason in *why (when why is not NULL),
 * such as "month out of range"; *out is then all zero. */
int alert_parse_time(const char *s, size_t len, struct alert_time *out,
                     const char **why);

/* alert_dedupe_key: writes the key that identifies one alert across
 * repeat_interval re-sends and Alertmanager peers,
 * "<fingerprint>@<sec>.<nsec, 9 digits>" of its startsAt, to buf (size
 * bytes; ALERT_DEDUPE_KEY_MAX always suffices for a parsed alert).
 * Returns the key's length, or -1 (buf holds "" when size > 0) when it
 * does not fit. */
int alert_dedupe_key(const struct alert *a, char *buf, size_t size);

/* alert_label_env_name: name made fit for an environment variable name
 * (REPLGUARD_LABEL_<NAME>): ASCII letters upper-cased, digits and '_'
 * kept, every other character (a whole UTF-8 sequence counts as one)
 * replaced by '_'. Returns a new string the caller frees with free();
 * never NULL. */
char *alert_label_env_name(const char *name);

#endif
