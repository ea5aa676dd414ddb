// Tokenizer::from_hf_folder: reads tokenizer.json (+ tokenizer_config.json,
// generation_config.json).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sgp/error.h"
#include "tokenizer/tokenizer_spec.h"

namespace sgp::model {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr int64_t kMaxVocab = 1 << 22;  // far above any real vocabulary; guards allocations

json read_json(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return json::parse(ss.str());
  } catch (const json::exception& e) {
    throw Error(path.string() + ": invalid JSON (" + e.what() + ")");
  }
}

std::string describe(const json& j) {
  std::string s = j.dump();
  return s.size() > 200 ? s.substr(0, 200) + "..." : s;
}

// Flattens nested Sequence entries of a normalizer / pre-tokenizer / decoder.
void flatten(const json& j, const char* list_key, std::vector<json>& out) {
  if (j.is_null()) return;
  if (j.value("type", "") == "Sequence") {
    for (const json& e : j.at(list_key)) flatten(e, list_key, out);
    return;
  }
  out.push_back(j);
}

// A token given as "text" or {"content": "text"}.
std::string token_text(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content")) return j.at("content").get<std::string>();
  return {};
}

class HfReader {
 public:
  explicit HfReader(const fs::path& folder) : folder_(folder) {}

  TokenizerSpec read() {
    json tok = read_json(folder_ / "tokenizer.json");
    const json& model = tok.at("model");
    std::string type = model.value("type", "BPE");
    if (type != "BPE")
      throw Error("unsupported tokenizer model type '" + type + "' (only BPE is supported)");
    read_vocab(model, tok.value("added_tokens", json::array()));
    for (const json& m : model.value("merges", json::array())) {
      if (m.is_array() && m.size() == 2) {
        spec_.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      } else {
        std::string s = m.get<std::string>();
        size_t sp = s.find(' ', 1);
        if (sp == std::string::npos) throw Error("tokenizer.json merge '" + s + "' has no space");
        spec_.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      }
    }
    spec_.ignore_merges = model.value("ignore_merges", false);
    spec_.byte_fallback = model.value("byte_fallback", false);
    spec_.fuse_unk = model.value("fuse_unk", false);
    if (model.contains("unk_token") && model["unk_token"].is_string())
      spec_.unk_id = id_of(model["unk_token"].get<std::string>());
    read_pipeline(tok);
    read_post_processor(tok.value("post_processor", json()));
    read_configs();
    return std::move(spec_);
  }

 private:
  int32_t id_of(const std::string& text) const {
    for (size_t i = 0; i < spec_.vocab.size(); ++i)
      if (spec_.vocab[i] == text) return static_cast<int32_t>(i);
    return -1;
  }

  // A token id field: an integer, else an error (a float or a string is never an id). Values
  // past the int32 range come back as -1 or kMaxVocab, which the range checks refuse.
  static int32_t id_field(const json& v, const char* file = "tokenizer.json") {
    if (!v.is_number_integer())
      throw Error(std::string(file) + ": token id " + describe(v) + " is not an integer");
    if (v.is_number_unsigned())
      return static_cast<int32_t>(std::min<uint64_t>(v.get<uint64_t>(), kMaxVocab));
    return static_cast<int32_t>(std::clamp<int64_t>(v.get<int64_t>(), -1, kMaxVocab));
  }

  void set_token(int64_t id, const std::string& text, TokenType type) {
    if (id < 0 || id >= kMaxVocab)
      throw Error("tokenizer.json token id " + std::to_string(id) + " is out of range");
    if (static_cast<size_t>(id) >= spec_.vocab.size()) {
      spec_.vocab.resize(id + 1);
      spec_.types.resize(id + 1, TokenType::Unused);
    }
    spec_.vocab[id] = text;
    spec_.types[id] = type;
  }

  void read_vocab(const json& model, const json& added) {
    for (const auto& [text, id] : model.at("vocab").items())
      set_token(id_field(id), text, TokenType::Normal);
    for (const json& a : added) {
      AddedToken t;
      t.id = id_field(a.at("id"));
      t.content = a.at("content").get<std::string>();
      t.special = a.value("special", false);
      t.lstrip = a.value("lstrip", false);
      t.rstrip = a.value("rstrip", false);
      set_token(t.id, t.content, t.special ? TokenType::Control : TokenType::UserDefined);
      spec_.added.push_back(std::move(t));
    }
  }

  void read_pipeline(const json& tok) {
    std::vector<json> norms, pres, decs;
    flatten(tok.value("normalizer", json()), "normalizers", norms);
    flatten(tok.value("pre_tokenizer", json()), "pretokenizers", pres);
    flatten(tok.value("decoder", json()), "decoders", decs);
    bool byte_level = false;
    for (const auto* list : {&pres, &decs})
      for (const json& j : *list)
        if (j.value("type", "") == "ByteLevel") byte_level = true;
    if (byte_level)
      read_byte_level(norms, pres);
    else
      read_sentencepiece(norms, pres);
  }

  void read_byte_level(const std::vector<json>& norms, const std::vector<json>& pres) {
    spec_.kind = TokenizerKind::ByteLevelBpe;
    for (const json& n : norms) {
      if (n.value("type", "") != "NFC")
        throw Error("unsupported normalizer for a byte-level tokenizer: " + describe(n));
      spec_.nfc = true;
    }
    // Accepted shapes: [ByteLevel(regex)], [Digits(individual), ByteLevel(regex)],
    // [Split(known regex, Isolated), ByteLevel(no regex)].
    auto fail = [&] {
      std::string all;
      for (const json& p : pres) all += describe(p) + " ";
      throw Error("unsupported pre-tokenizer configuration: " + all);
    };
    if (pres.empty() || pres.back().value("type", "") != "ByteLevel") fail();
    const json& bl = pres.back();
    if (bl.value("add_prefix_space", false)) fail();
    bool use_regex = bl.value("use_regex", true);
    if (pres.size() == 1 && use_regex) {
      spec_.pre = PreTokenizer::Gpt2;
    } else if (pres.size() == 2 && use_regex && pres[0].value("type", "") == "Digits" &&
               pres[0].value("individual_digits", false)) {
      spec_.pre = PreTokenizer::SmolLM;
    } else if (pres.size() == 2 && !use_regex && pres[0].value("type", "") == "Split" &&
               pres[0].value("behavior", "") == "Isolated" && !pres[0].value("invert", false) &&
               pres[0].contains("pattern") && pres[0]["pattern"].contains("Regex")) {
      auto pre = pre_tokenizer_from_regex(pres[0]["pattern"]["Regex"].get<std::string>());
      if (!pre) fail();
      spec_.pre = *pre;
    } else {
      fail();
    }
  }

  void read_sentencepiece(const std::vector<json>& norms, const std::vector<json>& pres) {
    spec_.kind = TokenizerKind::SentencePieceBpe;
    bool replaces_space = false;
    for (const json& n : norms) {
      std::string t = n.value("type", "");
      if (t == "Prepend" && n.value("prepend", "") == "\xE2\x96\x81") {
        spec_.dummy_prefix = DummyPrefix::EverySegment;
      } else if (t == "Replace" && n.contains("pattern") &&
                 n["pattern"].value("String", "") == " " &&
                 n.value("content", "") == "\xE2\x96\x81") {
        replaces_space = true;
      } else {
        throw Error("unsupported normalizer for a SentencePiece tokenizer: " + describe(n));
      }
    }
    for (const json& p : pres) {
      if (p.value("type", "") != "Metaspace" || p.value("replacement", "") != "\xE2\x96\x81")
        throw Error("unsupported pre-tokenizer for a SentencePiece tokenizer: " + describe(p));
      replaces_space = true;
      spec_.split_on_space = p.value("split", true);
      std::string scheme = p.value("prepend_scheme", "");
      if (scheme.empty()) scheme = p.value("add_prefix_space", true) ? "always" : "never";
      spec_.prefix_unless_space = true;
      spec_.dummy_prefix = scheme == "always"  ? DummyPrefix::EverySegment
                           : scheme == "first" ? DummyPrefix::FirstSegment
                                               : DummyPrefix::None;
    }
    if (!replaces_space)
      throw Error(
          "tokenizer.json is neither byte-level nor SentencePiece-style (no ByteLevel "
          "pre-tokenizer, no \"▁\" space replacement)");
    // Byte-fallback pieces <0xNN> that are not added tokens are bytes.
    for (size_t i = 0; i < spec_.vocab.size(); ++i) {
      const std::string& v = spec_.vocab[i];
      if (spec_.types[i] == TokenType::Normal && v.size() == 6 && v.rfind("<0x", 0) == 0)
        spec_.types[i] = TokenType::Byte;
    }
  }

  void read_post_processor(const json& post) {
    // TemplateProcessing "single": [SpecialToken <bos>, Sequence A, ...] means BOS is added.
    if (post.is_null()) return;
    std::vector<json> steps;
    flatten(post, "processors", steps);
    for (const json& p : steps) {
      if (p.value("type", "") != "TemplateProcessing" || !p.contains("single")) continue;
      const json& single = p["single"];
      if (single.empty() || !single[0].contains("SpecialToken")) continue;
      std::string text = single[0]["SpecialToken"].value("id", "");
      int32_t id = id_of(text);
      if (id >= 0) {
        spec_.bos_id = id;
        spec_.add_bos = true;
      }
    }
  }

  void read_configs() {
    fs::path cfg = folder_ / "tokenizer_config.json";
    if (fs::exists(cfg)) {
      json c = read_json(cfg);
      if (c.contains("bos_token")) {
        int32_t id = id_of(token_text(c["bos_token"]));
        if (id >= 0) spec_.bos_id = id;
      }
      if (c.contains("eos_token")) {
        int32_t id = id_of(token_text(c["eos_token"]));
        if (id >= 0) spec_.eos_id = id;
      }
      if (c.contains("add_bos_token") && c["add_bos_token"].is_boolean())
        spec_.add_bos = c["add_bos_token"].get<bool>();
      if (c.contains("chat_template")) {
        const json& t = c["chat_template"];
        if (t.is_string()) {
          spec_.chat_template = t.get<std::string>();
        } else if (t.is_array()) {  // named templates: take "default", else the first
          for (const json& e : t)
            if (spec_.chat_template.empty() || e.value("name", "") == "default")
              spec_.chat_template = e.value("template", "");
        }
      }
    }
    fs::path gen = folder_ / "generation_config.json";
    if (fs::exists(gen)) {
      json g = read_json(gen);
      if (g.contains("eos_token_id")) {
        const json& e = g["eos_token_id"];
        if (e.is_number_integer()) spec_.stop_ids.push_back(id_field(e, "generation_config.json"));
        if (e.is_array())
          for (const json& x : e) spec_.stop_ids.push_back(id_field(x, "generation_config.json"));
      }
    }
    if (spec_.add_bos && spec_.bos_id < 0) spec_.add_bos = false;
  }

  fs::path folder_;
  TokenizerSpec spec_;
};

}  // namespace

std::shared_ptr<Tokenizer> Tokenizer::from_hf_folder(const std::string& folder) {
  try {
    return build_tokenizer(HfReader(folder).read());
  } catch (const json::exception& e) {
    throw Error(folder + "/tokenizer.json: unexpected structure (" + e.what() + ")");
  }
}

}  // namespace sgp::model
