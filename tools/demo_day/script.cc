// The day's script from the text protos of tools/demo_data/, embedded at build time.
#include "tools/demo_day/script.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace wuye {
// tools/demo_data/*.textproto as (file name, text), in file-name order (wuye_embed_text in
// cmake/wuye.cmake, tools/CMakeLists.txt).
const std::vector<std::pair<std::string, std::string>>& DemoDataFiles();
}  // namespace wuye

namespace wuye::demo {

namespace {

// Collects the parser's first error with its line and column.
class Errors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (first_.empty()) first_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
  }
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

absl::StatusOr<v1::DayScript> Parse() {
  v1::DayScript script;
  for (const auto& [name, text] : DemoDataFiles()) {
    Errors errors;
    google::protobuf::TextFormat::Parser parser;
    parser.RecordErrorsTo(&errors);
    if (!parser.MergeFromString(text, &script)) {
      return absl::InternalError(absl::StrCat("tools/demo_data/", name, ":", errors.first()));
    }
  }
  return script;
}

}  // namespace

absl::StatusOr<const v1::DayScript*> LoadDayScript() {
  static const auto* script = new absl::StatusOr<v1::DayScript>(Parse());
  if (!script->ok()) return script->status();
  return &**script;
}

}  // namespace wuye::demo
