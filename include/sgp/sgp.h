/* sgp.h: the C embedding API (opaque handles; JSON text in and out) for any language. */
#ifndef SGP_SGP_H
#define SGP_SGP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sgp_model sgp_model;
typedef struct sgp_program sgp_program;
typedef struct sgp_runtime sgp_runtime;

/* Every function that can fail takes `char** error`: on failure it returns NULL (or nonzero)
   and, when error is not NULL, stores a message the caller frees with sgp_free. */

/* path NULL or "": the default model. threads 0: every core. */
sgp_model* sgp_model_load(const char* path, int threads, char** error);
void sgp_model_free(sgp_model* model);

sgp_program* sgp_program_compile_file(const char* path, char** error);
sgp_program* sgp_program_compile_source(const char* name, const char* text, char** error);
void sgp_program_free(sgp_program* program);

sgp_runtime* sgp_runtime_new(sgp_model* model, char** error);
void sgp_runtime_free(sgp_runtime* runtime);

/* A host function: gets the arguments as a JSON array; returns a malloc'd JSON text (freed by
   sgp with free()), or NULL after setting *error to a malloc'd message. May run on any thread. */
typedef char* (*sgp_host_fn)(const char* args_json, void* user, char** error);
int sgp_runtime_bind(sgp_runtime* runtime, const char* name, sgp_host_fn fn, void* user);

typedef void (*sgp_text_fn)(const char* text, size_t length, void* user);

/* Runs main with args_json (an object; NULL = no arguments). Blocks; returns the result as a
   JSON text to free with sgp_free, or NULL with *error set. on_text may be NULL. */
char* sgp_run(sgp_runtime* runtime, const sgp_program* program, const char* args_json,
              sgp_text_fn on_text, void* user, char** error);
/* Cancels every run of this runtime in progress (thread-safe). */
void sgp_runtime_cancel(sgp_runtime* runtime);

void sgp_free(void* p);

#ifdef __cplusplus
}
#endif

#endif /* SGP_SGP_H */
