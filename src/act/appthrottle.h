/* appthrottle.h: per-application throttles for the writers' check
 * (GET /check/{app}/{cluster}, POST /api/v1/throttle-app), as freno's
 * throttle-app: an app throttled at ratio r is refused that share of its
 * checks (1: all of them) until its expiry.
 *
 * The table is kept in state_dir/app-throttles.json, replaced durably on
 * every change before the change is visible or answered, so it survives
 * restarts. The same module counts the checks answered
 * (replguard_check_total{cluster,app,code}); at most APPTHROTTLE_MAX_APPS
 * distinct (cluster, app) pairs get a series of their own, later ones
 * are counted under app="other", so hostile app names cannot grow the
 * metric without bound (their checks are still answered normally).
 *
 * Thread-safe: HTTP handlers check, set and count; the engine reads the
 * counts. */
#ifndef REPLGUARD_APPTHROTTLE_H
#define REPLGUARD_APPTHROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fileio_ops;

#define APPTHROTTLE_FILE        "app-throttles.json"
#define APPTHROTTLE_MAX_APPS    256    /* counted series before "other" */
#define APPTHROTTLE_MAX_SET     1024   /* throttles held at once */
#define APPTHROTTLE_DEFAULT_TTL 3600.0 /* expires not given: freno's 1 h */
#define APPTHROTTLE_NAME_MAX    64

/* appthrottle_valid_name: whether s is 1-64 characters of
 * [A-Za-z0-9._-] (app names; also how cluster labels are bounded). */
bool appthrottle_valid_name(const char *s);

/* appthrottle_parse_expires: s is a duration from now ("10m", "1h30m")
 * or an RFC 3339 time; *out gets the Unix time it ends. Returns 0, or -1
 * with a static reason in *why. A time not after now is refused. */
int appthrottle_parse_expires(const char *s, double now, double *out,
                              const char **why);

/* appthrottle_refuses: whether a check of an app throttled at ratio is
 * refused, given draw, a uniform random 64-bit number: always for ratio
 * >= 1, never for ratio <= 0, else with probability ratio. Pure. */
bool appthrottle_refuses(double ratio, uint64_t draw);

struct appthrottle;

/* appthrottle_new: the table of state_dir, read from its file (empty
 * when there is none or it does not parse; entries already expired at
 * now are dropped). ops (NULL: POSIX) must outlive the table. */
struct appthrottle *appthrottle_new(const char *state_dir,
                                    const struct fileio_ops *ops, double now);
void appthrottle_free(struct appthrottle *t);

/* appthrottle_set: throttles app on cluster at ratio (0 < ratio <= 1)
 * until expires (Unix seconds); ratio 0 removes its throttle. The file
 * is replaced durably first: returns 0, -ENOSPC past APPTHROTTLE_MAX_SET,
 * or -errno of the write (then nothing changed). now drops expired
 * entries from the file. */
int appthrottle_set(struct appthrottle *t, const char *app, const char *cluster,
                    double ratio, double expires, double now);

/* appthrottle_get: the ratio app is throttled at on cluster at now (0:
 * none, or expired), its expiry in *expires (when not NULL). */
double appthrottle_get(struct appthrottle *t, const char *app,
                       const char *cluster, double now, double *expires);

/* A throttle as appthrottle_list() copies it. */
struct appthrottle_entry {
    char app[APPTHROTTLE_NAME_MAX + 1];
    char cluster[128];
    double ratio, expires;
};

/* appthrottle_list: the throttles not expired at now, up to max into
 * out; returns how many there are in all. */
size_t appthrottle_list(struct appthrottle *t, double now,
                        struct appthrottle_entry *out, size_t max);

/* appthrottle_draw: a random 64-bit number for appthrottle_refuses. */
uint64_t appthrottle_draw(struct appthrottle *t);

/* appthrottle_count: counts one check of app on cluster answered code
 * (200 or 429; others are not counted). app must be valid. */
void appthrottle_count(struct appthrottle *t, const char *cluster,
                       const char *app, unsigned code);

/* One series of replguard_check_total. The strings live as long as the
 * table (series are never removed). */
struct appthrottle_series {
    const char *cluster, *app, *code;
    uint64_t count;
};

/* appthrottle_series: up to max series into out; returns how many
 * there are in all (call again with more room when over max). */
size_t appthrottle_series(struct appthrottle *t, struct appthrottle_series *out,
                          size_t max);

#endif
