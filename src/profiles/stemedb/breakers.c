/* breakers.c: the circuit-breaker answers of a node (see breakers.h). */
#include "profiles/stemedb/breakers.h"

#include "lib/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* only_space: whether s[0..n) is JSON whitespace. */
static int only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

/* agent_id: the id of one entry of the list, or NULL when it has none
 * that replguard can send back. */
static const char *agent_id(const cJSON *entry)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(entry, "agent_id");
    if (!cJSON_IsObject(entry) || !cJSON_IsString(id))
        return NULL;
    size_t len = strlen(id->valuestring);
    if (len == 0 || len > BREAKERS_MAX_ID)
        return NULL;
    return id->valuestring;
}

int breakers_parse(const char *body, size_t len, char ***ids, size_t *n)
{
    const char *text = body ? body : "";
    const char *end = NULL;
    cJSON *arr = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    int count = cJSON_GetArraySize(arr);
    const cJSON *it;

    *ids = NULL;
    *n = 0;
    if (!cJSON_IsArray(arr) || !end ||
        !only_space(end, len - (size_t)(end - text)) || count > BREAKERS_MAX) {
        cJSON_Delete(arr);
        return -EINVAL;
    }
    char **v = count ? xcalloc((size_t)count, sizeof(*v)) : NULL;
    size_t k = 0;
    cJSON_ArrayForEach(it, arr)
    {
        const char *id = agent_id(it);
        if (!id) {
            breakers_free(v, k);
            cJSON_Delete(arr);
            return -EINVAL;
        }
        v[k++] = xstrdup(id);
    }
    cJSON_Delete(arr);
    *ids = v;
    *n = k;
    return 0;
}

void breakers_free(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

char *breakers_reset_body(const char *agent_id)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "agent_id", agent_id))
        abort(); /* out of memory, as xmalloc */
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        abort();
    return s;
}
