/* statefile.h: the persisted remediation state (cooldowns, dedupe keys,
 * throttle steps, pause), one JSON document in dir/state.json.
 *
 * The caller owns the format; this module only makes saving durable and
 * atomic: every save is a fileio_replace() (write a temporary file, fsync,
 * rename over, fsync the directory), so after a crash the file holds the
 * previous state or the new one, never a mix. The engine thread is the
 * only writer; saves of one dir must not run concurrently. */
#ifndef REPLGUARD_STATEFILE_H
#define REPLGUARD_STATEFILE_H

#include "lib/fileio.h"

/* The file's name inside the state directory. */
#define STATEFILE_NAME "state.json"
/* The largest state statefile_load() reads, in bytes. */
#define STATEFILE_MAX (16 * 1024 * 1024)

/* statefile_save: durably replaces dir/state.json with json_text. ops may
 * be NULL (POSIX). Returns 0, -EFBIG when the text is over STATEFILE_MAX,
 * or -errno (see fileio_replace(): on an error before the rename the old
 * state is untouched). */
int statefile_save(const char *dir, const struct fileio_ops *ops,
                   const char *json_text);

/* statefile_load: reads dir/state.json into *text, a heap string the
 * caller frees. Returns 0; -ENOENT when no state was ever saved (start
 * fresh); -EFBIG when it is over STATEFILE_MAX; -EBADMSG when it holds a
 * NUL byte; or -errno. *text is NULL on error. */
int statefile_load(const char *dir, char **text);

#endif
