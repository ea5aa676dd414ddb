/* sgp_embed_c_host: the C API — compile, bind a host function (and one that fails), run. */
#include <sgp/sgp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char* add_one(const char* args_json, void* user, char** error) {
  (void)error;
  int* calls = (int*)user;
  ++*calls;
  int x = 0;
  if (sscanf(args_json, "[%d]", &x) != 1) x = -1;
  char* out = (char*)malloc(32);
  snprintf(out, 32, "%d", x + 1);
  return out;
}

static char* fail(const char* args_json, void* user, char** error) {
  (void)args_json, (void)user;
  const char* msg = "C host refused";
  *error = (char*)malloc(strlen(msg) + 1);
  strcpy(*error, msg);
  return NULL;
}

static void on_text(const char* text, size_t n, void* user) {
  (void)text;
  *(size_t*)user += n;
}

int main(int argc, char** argv) {
  char* err = NULL;
  sgp_model* model = sgp_model_load(argc > 1 ? argv[1] : NULL, 0, &err);
  if (!model) {
    fprintf(stderr, "load: %s\n", err);
    sgp_free(err);
    return 1;
  }
  sgp_runtime* rt = sgp_runtime_new(model, &err);
  int calls = 0;
  sgp_runtime_bind(rt, "add_one", add_one, &calls);
  sgp_runtime_bind(rt, "fail", fail, NULL);
  sgp_program* prog = sgp_program_compile_source(
      "c.sgp",
      "extern fn add_one(x)\nextern fn fail()\n"
      "fn main(n, bad = false) {\n  if bad { fail() }\n  \"Count: {add_one(n)},\"\n"
      "  gen more(max_tokens: 6, temperature: 0)\n  return [add_one(n), more]\n}\n",
      &err);
  if (!prog) {
    fprintf(stderr, "compile: %s\n", err);
    return 1;
  }
  size_t streamed = 0;
  char* out = sgp_run(rt, prog, "{\"n\": 41}", on_text, &streamed, &err);
  printf("result: %s\n", out ? out : "(null)");
  printf("calls: %d\nstreamed: %zu\n", calls, streamed);
  sgp_free(out);
  char* out2 = sgp_run(rt, prog, "{\"n\": 1, \"bad\": true}", NULL, NULL, &err);
  printf("failing host: %s\n", out2 ? "no error" : err);
  sgp_free(err);
  sgp_free(out2);
  char* out3 = sgp_run(rt, prog, "not json", NULL, NULL, &err);
  printf("bad args: %s\n", out3 ? "no error" : err);
  sgp_free(err);
  sgp_free(out3);
  sgp_program_free(prog);
  sgp_runtime_free(rt);
  sgp_model_free(model);
  return 0;
}
