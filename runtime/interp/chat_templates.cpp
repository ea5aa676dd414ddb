// Built-in chat templates (prefix/suffix per role, as the model families define them).
#include "interp/chat_templates.h"

#include <map>

namespace sgp::interp {

namespace {

graph::Template make(std::string name, std::map<std::string, graph::RoleFormat> roles,
                     std::vector<std::string> stop, std::string bos = "") {
  graph::Template t;
  t.name = std::move(name);
  t.roles = std::move(roles);
  t.stop = std::move(stop);
  t.bos = std::move(bos);
  return t;
}

const std::map<std::string, graph::Template>& table() {
  static const std::map<std::string, graph::Template> t = [] {
    std::map<std::string, graph::Template> m;
    auto chatml = [](const std::string& r) {
      return graph::RoleFormat{"<|im_start|>" + r + "\n", "<|im_end|>\n"};
    };
    m["chatml"] = make("chatml",
                       {{"system", chatml("system")},
                        {"user", chatml("user")},
                        {"assistant", chatml("assistant")},
                        {"tool", chatml("tool")}},
                       {"<|im_end|>"});
    auto l3 = [](const std::string& r) {
      return graph::RoleFormat{"<|start_header_id|>" + r + "<|end_header_id|>\n\n", "<|eot_id|>"};
    };
    m["llama3"] = make("llama3",
                       {{"system", l3("system")},
                        {"user", l3("user")},
                        {"assistant", l3("assistant")},
                        {"tool", l3("ipython")}},
                       {"<|eot_id|>"}, "<|begin_of_text|>");
    m["llama2"] = make("llama2",
                       {{"system", {"<<SYS>>\n", "\n<</SYS>>\n\n"}},
                        {"user", {"[INST] ", " [/INST]"}},
                        {"assistant", {" ", "</s>"}},
                        {"tool", {"[INST] ", " [/INST]"}}},
                       {"</s>"});
    auto gm = [](const std::string& r) {
      return graph::RoleFormat{"<start_of_turn>" + r + "\n", "<end_of_turn>\n"};
    };
    m["gemma"] = make("gemma",
                      {{"system", gm("user")},
                       {"user", gm("user")},
                       {"assistant", gm("model")},
                       {"tool", gm("user")}},
                      {"<end_of_turn>"});
    m["plain"] = make("plain",
                      {{"system", {"", "\n\n"}},
                       {"user", {"User: ", "\n"}},
                       {"assistant", {"Assistant: ", "\n"}},
                       {"tool", {"Tool: ", "\n"}}},
                      {"\nUser:"});
    return m;
  }();
  return t;
}

}  // namespace

const graph::Template* builtin_template(const std::string& name) {
  auto it = table().find(name);
  return it == table().end() ? nullptr : &it->second;
}

const graph::Template& template_for_model(const std::string& jinja) {
  const char* name = "plain";
  if (jinja.find("<|im_start|>") != std::string::npos)
    name = "chatml";
  else if (jinja.find("<|start_header_id|>") != std::string::npos)
    name = "llama3";
  else if (jinja.find("<start_of_turn>") != std::string::npos)
    name = "gemma";
  else if (jinja.find("[INST]") != std::string::npos)
    name = "llama2";
  return *builtin_template(name);
}

}  // namespace sgp::interp
