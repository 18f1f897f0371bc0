/* pause.h: the pause switch of remediation (SPEC section 8): a flag
 * kept in state_dir's state file, replaced durably, so it survives
 * restarts. Thread-safe: HTTP handlers set it, the engine reads it. */
#ifndef REPLGUARD_PAUSE_H
#define REPLGUARD_PAUSE_H

#include <stdbool.h>

struct fileio_ops;

/* Opaque. */
struct pause_switch;

/* pause_new: the switch of state_dir, read from its state file (off
 * when there is none or it cannot be read). ops (NULL: POSIX) is used to
 * write it and must outlive the switch. Free with pause_free(). */
struct pause_switch *pause_new(const char *state_dir,
                               const struct fileio_ops *ops);
void pause_free(struct pause_switch *p);

/* pause_set: sets and persists the flag, logging the change; returns 0
 * or -errno (then nothing changed). */
int pause_set(struct pause_switch *p, bool paused);

/* pause_get: the flag. */
bool pause_get(struct pause_switch *p);

#endif
