// The web console's built files (web/console/dist), served by the gateway at "/" so that
// the console and the API share one origin (no CORS, one certificate). The files are held
// in memory with their gzip form, and read again when index.html changes (a rebuilt
// console is served without a restart). A path that names no file and has no extension is
// one of the console's own pages: it gets index.html.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/gateway/http.h"

namespace wuye::gateway {

class ConsoleFiles {
 public:
  // Reads every file under `dir`; FAILED_PRECONDITION when it has no index.html.
  // `connect_origins` ("https://sso.example.com"): besides its own origin, where the
  // console's scripts may connect (the OpenID Connect provider's discovery and token
  // endpoint); the Content-Security-Policy names them in connect-src.
  static absl::StatusOr<std::unique_ptr<ConsoleFiles>> Load(std::string dir,
                                                            std::vector<std::string> connect_origins = {});

  // The answer to GET (or HEAD) `path` with the request's headers (Accept-Encoding,
  // If-None-Match).
  HttpResponse Get(const HttpRequest& request);

 private:
  struct File {
    std::string body;
    std::string gzipped;  // empty when gzip does not make it smaller
    std::string type;
    std::string etag;
    bool immutable = false;  // a content-hashed asset of the build
  };
  using Files = std::map<std::string, File, std::less<>>;

  ConsoleFiles(std::string dir, std::string csp) : dir_(std::move(dir)), csp_(std::move(csp)) {}
  absl::StatusOr<std::shared_ptr<const Files>> Scan() const;
  std::string IndexStamp() const;
  std::shared_ptr<const Files> Current();

  const std::string dir_;
  const std::string csp_;  // the Content-Security-Policy of every answer
  absl::Mutex mu_;
  std::shared_ptr<const Files> files_ ABSL_GUARDED_BY(mu_);
  std::string stamp_ ABSL_GUARDED_BY(mu_);
  absl::Time checked_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wuye::gateway
