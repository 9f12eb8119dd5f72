#include "tools/loadgen/json_scan.h"

namespace meterd::loadgen {
namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool AtEnd() const { return pos_ >= text_.size(); }
  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  size_t pos() const { return pos_; }

  // A string; its decoded text goes to *out when out is not null.
  bool String(std::string* out) {
    if (!Consume('"')) return false;
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        if (out) out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return false;
      char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          if (out) out->push_back(e);
          break;
        case 'b':
          if (out) out->push_back('\b');
          break;
        case 'f':
          if (out) out->push_back('\f');
          break;
        case 'n':
          if (out) out->push_back('\n');
          break;
        case 'r':
          if (out) out->push_back('\r');
          break;
        case 't':
          if (out) out->push_back('\t');
          break;
        case 'u': {
          if (pos_ + 4 > text_.size()) return false;
          unsigned v = 0;
          for (int i = 0; i < 4; ++i) {
            char h = text_[pos_ + static_cast<size_t>(i)];
            v <<= 4;
            if (h >= '0' && h <= '9')
              v |= static_cast<unsigned>(h - '0');
            else if (h >= 'a' && h <= 'f')
              v |= static_cast<unsigned>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F')
              v |= static_cast<unsigned>(h - 'A' + 10);
            else
              return false;
          }
          if (out) {
            if (v < 0x80)
              out->push_back(static_cast<char>(v));
            else
              out->append(text_.substr(pos_ - 2, 6));
          }
          pos_ += 4;
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  bool Number() {
    size_t start = pos_;
    Consume('-');
    if (Consume('0')) {
    } else if (!Digits()) {
      return false;
    }
    if (Consume('.') && !Digits()) return false;
    if (Consume('e') || Consume('E')) {
      if (!Consume('+')) Consume('-');
      if (!Digits()) return false;
    }
    return pos_ > start;
  }

  bool Literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool Value(int depth) {
    if (depth > 64) return false;
    SkipSpace();
    if (AtEnd()) return false;
    char c = text_[pos_];
    if (c == '"') return String(nullptr);
    if (c == '{') {
      ++pos_;
      SkipSpace();
      if (Consume('}')) return true;
      do {
        SkipSpace();
        if (!String(nullptr)) return false;
        SkipSpace();
        if (!Consume(':') || !Value(depth + 1)) return false;
        SkipSpace();
      } while (Consume(','));
      return Consume('}');
    }
    if (c == '[') {
      ++pos_;
      SkipSpace();
      if (Consume(']')) return true;
      do {
        if (!Value(depth + 1)) return false;
        SkipSpace();
      } while (Consume(','));
      return Consume(']');
    }
    if (c == 't') return Literal("true");
    if (c == 'f') return Literal("false");
    if (c == 'n') return Literal("null");
    return Number();
  }

 private:
  bool Digits() {
    size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

Result<std::vector<JsonMember>> TopLevelMembers(std::string_view json) {
  Scanner s(json);
  std::vector<JsonMember> members;
  auto bad = [&](const char* what) {
    return Status::InvalidArgument(std::string("JSON: ") + what + " at byte " +
                                   std::to_string(s.pos()));
  };
  s.SkipSpace();
  if (!s.Consume('{')) return bad("expected an object");
  s.SkipSpace();
  if (!s.Consume('}')) {
    do {
      s.SkipSpace();
      JsonMember m;
      if (!s.String(&m.key)) return bad("expected a member name");
      s.SkipSpace();
      if (!s.Consume(':')) return bad("expected ':'");
      s.SkipSpace();
      size_t start = s.pos();
      if (!s.Value(1)) return bad("malformed value");
      m.value = json.substr(start, s.pos() - start);
      members.push_back(std::move(m));
      s.SkipSpace();
    } while (s.Consume(','));
    if (!s.Consume('}')) return bad("expected ',' or '}'");
  }
  s.SkipSpace();
  if (!s.AtEnd()) return bad("trailing text");
  return members;
}

std::optional<std::string_view> FindMember(const std::vector<JsonMember>& members,
                                           std::string_view key) {
  for (const JsonMember& m : members) {
    if (m.key == key) return m.value;
  }
  return std::nullopt;
}

std::optional<uint64_t> JsonUint(std::string_view raw) {
  if (raw.empty() || raw.size() > 19 || (raw.size() > 1 && raw[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  for (char c : raw) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace meterd::loadgen
