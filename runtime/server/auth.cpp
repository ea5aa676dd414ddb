// API key and JWT (HS256/RS256 via libjwt) checks.
#include "server/auth.h"

#include <jwt.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "sgp/error.h"

namespace sgp::server {

namespace {

// Compares without an early exit, so response time does not leak how much of a key matched.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};

}  // namespace

std::vector<std::string> read_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read API key file: " + path);
  std::vector<std::string> keys;
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (!line.empty() && line[0] != '#') keys.push_back(line);
  }
  if (keys.empty()) throw Error("API key file holds no keys: " + path);
  return keys;
}

Authenticator::Authenticator(AuthOptions options) : options_(std::move(options)) {
  for (const std::string& k : options_.api_keys)
    if (k.size() < 8) throw Error("API keys must be at least 8 characters");
  if (options_.enabled && options_.api_keys.empty() && options_.jwt.hs256_secret.empty() &&
      options_.jwt.rs256_pubkey.empty())
    throw Error(
        "no credentials configured: pass --api-key, --api-key-file, SGP_API_KEY or a JWT key "
        "(or --no-auth to serve without authentication on loopback)");
}

AuthResult Authenticator::check(std::string_view header) const {
  if (!options_.enabled) return {200, "", "anonymous"};
  constexpr std::string_view kBearer = "Bearer ";
  if (header.empty())
    return {401, "missing credentials: send 'Authorization: Bearer <key or token>'", ""};
  if (header.size() <= kBearer.size() || header.substr(0, kBearer.size()) != kBearer)
    return {401, "the Authorization header must be 'Bearer <key or token>'", ""};
  std::string token = trim(std::string(header.substr(kBearer.size())));
  bool key_ok = false;
  for (const std::string& k : options_.api_keys) key_ok = same_secret(token, k) || key_ok;
  if (key_ok) return {200, "", "key:" + token.substr(0, 4) + "..."};
  if (!options_.jwt.hs256_secret.empty() || !options_.jwt.rs256_pubkey.empty())
    return check_jwt(token);
  return {401, "invalid API key", ""};
}

AuthResult Authenticator::check_jwt(const std::string& token) const {
  if (token.size() > 8192) return {401, "invalid token", ""};
  // Try the configured key(s); the algorithm must be the one the key is for, so an RS256
  // public key can never be (mis)used as an HS256 secret, and "none" is never accepted.
  struct Try {
    const std::string* key;
    jwt_alg_t alg;
  };
  std::vector<Try> tries;
  if (!options_.jwt.hs256_secret.empty())
    tries.push_back({&options_.jwt.hs256_secret, JWT_ALG_HS256});
  if (!options_.jwt.rs256_pubkey.empty())
    tries.push_back({&options_.jwt.rs256_pubkey, JWT_ALG_RS256});
  for (const Try& t : tries) {
    jwt_t* raw = nullptr;
    int rc = jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(t.key->data()),
                        static_cast<int>(t.key->size()));
    std::unique_ptr<jwt_t, JwtFree> j(raw);
    if (rc != 0 || !j || jwt_get_alg(j.get()) != t.alg) continue;
    long now = static_cast<long>(std::time(nullptr));
    errno = 0;
    long exp = jwt_get_grant_int(j.get(), "exp");
    if (errno == 0 && exp < now) return {401, "token expired", ""};
    errno = 0;
    long nbf = jwt_get_grant_int(j.get(), "nbf");
    if (errno == 0 && nbf > now) return {401, "token not yet valid", ""};
    const char* sub = jwt_get_grant(j.get(), "sub");
    std::string subject = sub ? std::string("jwt:") + sub : "jwt";
    if (!options_.jwt.issuer.empty()) {
      const char* iss = jwt_get_grant(j.get(), "iss");
      if (!iss || options_.jwt.issuer != iss) return {403, "token issuer not accepted", subject};
    }
    if (!options_.jwt.audience.empty()) {
      // "aud" may be a string or a list of strings.
      const char* aud = jwt_get_grant(j.get(), "aud");
      bool ok = aud && options_.jwt.audience == aud;
      if (!ok) {
        char* list = jwt_get_grants_json(j.get(), "aud");
        if (list) {
          auto auds = nlohmann::json::parse(list, nullptr, false);
          std::free(list);
          if (auds.is_array())
            for (const auto& a : auds) ok = ok || (a.is_string() && a == options_.jwt.audience);
        }
      }
      if (!ok) return {403, "token audience not accepted", subject};
    }
    return {200, "", subject};
  }
  return {401, "invalid API key or token", ""};
}

}  // namespace sgp::server
