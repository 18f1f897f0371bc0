/* demostate.h: the demo's state directory: a clean one for each run
 * (unless kept), and the shipped runbooks copied into it with limits
 * that fit the demo's episode period. */
#ifndef REPLGUARD_DEMOSTATE_H
#define REPLGUARD_DEMOSTATE_H

#include <stdbool.h>
#include <stddef.h>

/* The demo runbooks' cooldown and budget: an episode every
 * DEMO_EPISODE_EVERY seconds must never meet the last one's cooldown. */
#define DEMO_COOLDOWN     "60s"
#define DEMO_MAX_PER_HOUR 120

/* demostate_prepare: makes dir (mode 0700) and marks it as the demo's.
 * Unless keep, empties it first, but only when it carries the mark (or
 * is empty): a directory the demo did not make is refused. Returns 0,
 * or -1 with a message in err. */
int demostate_prepare(const char *dir, bool keep, char *err, size_t errlen);

/* demostate_rules: copies every *.yml of rules_src into dir/rules with
 * `cooldown:` set to DEMO_COOLDOWN and `max_actions_per_hour:` to
 * DEMO_MAX_PER_HOUR, the rest as shipped. Returns the number of files,
 * or -1 with a message in err. */
int demostate_rules(const char *rules_src, const char *dir, char *err,
                    size_t errlen);

/* demostate_rewrite: the demo's version of one runbook line (the
 * result, cut at outlen, in out). Pure. */
void demostate_rewrite(const char *line, char *out, size_t outlen);

/* demostate_share: the directory holding rules/ and alerts/: the source
 * tree replguard was built from when it is still there, else the
 * installed copy (PKGDATADIR). */
const char *demostate_share(void);

/* demostate_docs: the paths of the config reference (docs/config.md) and
 * of the example config (contrib/replguard.yml), in the source tree when
 * it is there, else where `make install` put them (DOCDIR, PKGDATADIR). */
void demostate_docs(char *doc, size_t doclen, char *example, size_t exlen);

#endif
