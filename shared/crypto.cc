#include "shared/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace wuye {
namespace {

// OpenSSL 3 looks an algorithm up by name on every one-shot call (SHA256(), HMAC()): for
// the 11-byte phone numbers intake keys on every CreateTicket, the lookup and the context's
// set-up cost several times the digest. So each algorithm is fetched once, and each thread
// keeps its contexts: a digest context re-initialised per call, and one HMAC context per key
// (a process uses one or two keys), re-initialised with the key it already holds.
EVP_MD* Sha256Md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

EVP_MAC* HmacMac() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }  // cleanses the key
};

struct KeyedMac {
  std::string key;
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx;
};

// The thread's HMAC contexts, most recently used first; the oldest is dropped past four.
struct ThreadMacs {
  static constexpr size_t kKept = 4;
  std::array<KeyedMac, kKept> slots;

  ~ThreadMacs() {
    for (KeyedMac& s : slots) OPENSSL_cleanse(s.key.data(), s.key.size());
  }

  // A context initialised for `key`, or null if OpenSSL fails.
  EVP_MAC_CTX* For(absl::string_view key) {
    for (size_t i = 0; i < kKept; ++i) {
      if (slots[i].ctx != nullptr && slots[i].key == key) {
        std::rotate(slots.begin(), slots.begin() + i, slots.begin() + i + 1);
        // The key is kept by the context: a null key re-initialises with it.
        return EVP_MAC_init(slots[0].ctx.get(), nullptr, 0, nullptr) == 1 ? slots[0].ctx.get()
                                                                          : nullptr;
      }
    }
    std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(HmacMac() == nullptr ? nullptr
                                                                      : EVP_MAC_CTX_new(HmacMac()));
    if (ctx == nullptr) return nullptr;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    // OpenSSL refuses a null key of length 0; HMAC pads an empty key and a one-byte zero key
    // alike, to 64 zero bytes.
    static const unsigned char kZero[1] = {0};
    const auto* bytes = key.empty() ? kZero : reinterpret_cast<const unsigned char*>(key.data());
    if (EVP_MAC_init(ctx.get(), bytes, key.empty() ? 1 : key.size(), params) != 1) {
      return nullptr;
    }
    std::rotate(slots.begin(), slots.end() - 1, slots.end());  // the oldest to the front…
    OPENSSL_cleanse(slots[0].key.data(), slots[0].key.size());
    slots[0].key.assign(key.data(), key.size());  // …replaced
    slots[0].ctx = std::move(ctx);
    return slots[0].ctx.get();
  }
};

}  // namespace

std::string Sha256(absl::string_view data) {
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx;
  if (ctx == nullptr) ctx.reset(EVP_MD_CTX_new());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (ctx == nullptr || Sha256Md() == nullptr ||
      EVP_DigestInit_ex2(ctx.get(), Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1 || len != kSha256Bytes) {
    // Only out of memory: callers key idempotency and paging on the digest, and an empty
    // one would make different requests look the same, so the process stops instead.
    std::fputs("wuye: OpenSSL could not compute SHA-256\n", stderr);
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(digest), len);
}

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  thread_local ThreadMacs macs;
  EVP_MAC_CTX* ctx = macs.For(key);
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (ctx == nullptr ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx, mac, &len, sizeof mac) != 1 || len != kSha256Bytes) {
    ERR_clear_error();  // nothing left on this thread's queue for the next OpenSSL call
    return "";
  }
  return std::string(reinterpret_cast<const char*>(mac), len);
}

}  // namespace wuye
