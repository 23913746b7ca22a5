// jansson (Debian's libjansson-dev), for bench/json only: one more JSON parser to measure ours against.
#include <jansson.h>

// json_decref is a static inline with a macro argument; a plain function Swift can always call.
static inline void cjansson_decref(json_t *value) { json_decref(value); }
