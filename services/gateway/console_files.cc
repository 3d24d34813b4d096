#include "services/gateway/console_files.h"

#include <sys/stat.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace wuye::gateway {
namespace {

namespace fs = std::filesystem;

constexpr std::pair<absl::string_view, absl::string_view> kTypes[] = {
    {".html", "text/html; charset=utf-8"},  {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},          {".svg", "image/svg+xml"},
    {".png", "image/png"},                  {".jpg", "image/jpeg"},
    {".ico", "image/x-icon"},               {".woff2", "font/woff2"},
    {".woff", "font/woff"},                 {".ttf", "font/ttf"},
    {".txt", "text/plain; charset=utf-8"},  {".webmanifest", "application/manifest+json"},
    {".map", "application/json"},
};

absl::string_view TypeOf(absl::string_view path) {
  for (const auto& [ext, type] : kTypes) {
    if (absl::EndsWith(path, ext)) return type;
  }
  return "application/octet-stream";
}

std::string Gzipped(const std::string& body) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return "";
  std::string out(deflateBound(&z, body.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  z.avail_in = static_cast<uInt>(body.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END && out.size() < body.size() ? out : "";
}

// The console runs only its own scripts, connects only to its own origin (and to the
// group's OpenID Connect provider when one is configured), and is never framed by another
// site. Leaving for the provider's sign-in page is a navigation, which the policy does not
// govern; the console posts no form anywhere (form-action 'self').
std::string Csp(const std::vector<std::string>& connect_origins) {
  std::string connect = "'self'";
  for (const auto& o : connect_origins) absl::StrAppend(&connect, " ", o);
  return absl::StrCat(
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
      "img-src 'self' data: blob:; font-src 'self' data:; connect-src ", connect, "; "
      "frame-ancestors 'none'; base-uri 'self'; form-action 'self'");
}

}  // namespace

absl::StatusOr<std::unique_ptr<ConsoleFiles>> ConsoleFiles::Load(std::string dir,
                                                                  std::vector<std::string> connect_origins) {
  std::unique_ptr<ConsoleFiles> c(new ConsoleFiles(std::move(dir), Csp(connect_origins)));
  auto files = c->Scan();
  if (!files.ok()) return files.status();
  absl::MutexLock lock(&c->mu_);
  c->files_ = *std::move(files);
  c->stamp_ = c->IndexStamp();
  c->checked_ = absl::Now();
  return c;
}

absl::StatusOr<std::shared_ptr<const ConsoleFiles::Files>> ConsoleFiles::Scan() const {
  auto files = std::make_shared<Files>();
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir_, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    File f;
    f.body = s.str();
    const std::string rel = "/" + fs::relative(it->path(), dir_).generic_string();
    f.type = std::string(TypeOf(rel));
    f.gzipped = Gzipped(f.body);
    f.etag = absl::StrCat("\"", absl::Hex(absl::HashOf(f.body)), "\"");
    f.immutable = absl::StartsWith(rel, "/assets/");  // Vite names them by content hash
    files->emplace(rel, std::move(f));
  }
  if (ec) return absl::FailedPreconditionError(absl::StrCat("console_dir: cannot read ", dir_));
  if (!files->contains("/index.html")) {
    return absl::FailedPreconditionError(
        absl::StrCat("console_dir: no index.html in ", dir_, " (build it: make build)"));
  }
  return std::shared_ptr<const Files>(std::move(files));
}

std::string ConsoleFiles::IndexStamp() const {
  struct stat st {};
  if (stat((dir_ + "/index.html").c_str(), &st) != 0) return "";
  return absl::StrCat(st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ":", st.st_size);
}

std::shared_ptr<const ConsoleFiles::Files> ConsoleFiles::Current() {
  absl::MutexLock lock(&mu_);
  // A rebuild ends by writing index.html: looked at once a second at most.
  if (absl::Now() - checked_ >= absl::Seconds(1)) {
    checked_ = absl::Now();
    if (std::string stamp = IndexStamp(); !stamp.empty() && stamp != stamp_) {
      if (auto files = Scan(); files.ok()) {
        files_ = *std::move(files);
        stamp_ = stamp;
      }
    }
  }
  return files_;
}

HttpResponse ConsoleFiles::Get(const HttpRequest& request) {
  std::shared_ptr<const Files> files = Current();
  std::string path = request.path == "/" ? "/index.html" : request.path;
  auto it = files->find(path);
  if (it == files->end()) {
    // The console's own routes (/desk, /tickets/01a2…) have no extension.
    absl::string_view last = path;
    last.remove_prefix(last.rfind('/') + 1);
    if (absl::StrContains(last, '.')) {
      HttpResponse r;
      r.status = 404;
      r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
      r.body = "not found\n";
      return r;
    }
    it = files->find("/index.html");
  }
  const File& f = it->second;
  HttpResponse r;
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Content-Security-Policy", csp_);
  r.headers.emplace_back("Cache-Control", f.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.emplace_back("ETag", f.etag);
  r.headers.emplace_back("Vary", "Accept-Encoding");
  if (request.Header("if-none-match") == f.etag) {
    r.status = 304;
    return r;
  }
  r.headers.emplace_back("Content-Type", f.type);
  const bool gzip = !f.gzipped.empty() && absl::StrContains(request.Header("accept-encoding"), "gzip");
  if (gzip) r.headers.emplace_back("Content-Encoding", "gzip");
  r.body = gzip ? f.gzipped : f.body;  // the library leaves it out of a HEAD answer
  return r;
}

}  // namespace wuye::gateway
