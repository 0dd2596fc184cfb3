// Test-only checkers for what the CLI writes: a strict JSON reader that
// flattens a document to "a.b[2].c" -> scalar text, and an XML
// well-formedness check (balanced elements, quoted attributes, escaped text).
// Small on purpose: they accept exactly what the standards allow for the
// subset the CLI emits, and fail loudly otherwise. Not thread-safe.
#pragma once

#include <cctype>
#include <map>
#include <string>
#include <vector>

namespace lstmad::tools::testing {

// Parses `text` as one JSON value; on success fills `out` with every scalar
// (numbers and literals as written, strings unescaped) and returns "", else
// returns what is wrong and where.
class JsonFlattener {
 public:
  std::string Parse(const std::string& text, std::map<std::string, std::string>* out) {
    s_ = text;
    pos_ = 0;
    out_ = out;
    if (!Value("")) return error_;
    Space();
    if (pos_ != s_.size()) return "trailing text at byte " + std::to_string(pos_);
    return "";
  }

 private:
  bool Fail(const std::string& what) {
    error_ = what + " at byte " + std::to_string(pos_);
    return false;
  }
  void Space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool Accept(char c) {
    Space();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool String(std::string* out) {
    if (!Accept('"')) return Fail("expected a string");
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char c = s_[pos_++];
      if (static_cast<unsigned char>(c) < 0x20) return Fail("raw control character in a string");
      if (c == '\\') {
        if (pos_ >= s_.size()) return Fail("unterminated escape");
        const char e = s_[pos_++];
        if (e == 'u') {
          if (pos_ + 4 > s_.size()) return Fail("short \\u escape");
          c = static_cast<char>(std::stoi(s_.substr(pos_, 4), nullptr, 16));
          pos_ += 4;
        } else if (e == 'n') {
          c = '\n';
        } else if (e == 't') {
          c = '\t';
        } else if (e == '"' || e == '\\' || e == '/') {
          c = e;
        } else {
          return Fail("bad escape");
        }
      }
      out->push_back(c);
    }
    if (pos_ >= s_.size()) return Fail("unterminated string");
    ++pos_;
    return true;
  }
  bool Number(const std::string& path) {
    const size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      return Fail("expected a value");
    }
    if (s_[pos_] == '0' && pos_ + 1 < s_.size() &&
        std::isdigit(static_cast<unsigned char>(s_[pos_ + 1]))) {
      return Fail("leading zero");
    }
    while (pos_ < s_.size() &&
           (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.' ||
            s_[pos_] == 'e' || s_[pos_] == 'E' || s_[pos_] == '+' ||
            (s_[pos_] == '-' && (s_[pos_ - 1] == 'e' || s_[pos_ - 1] == 'E')))) {
      ++pos_;
    }
    (*out_)[path] = s_.substr(start, pos_ - start);
    return true;
  }
  bool Value(const std::string& path) {
    Space();
    if (pos_ >= s_.size()) return Fail("unexpected end");
    const char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      if (Accept('}')) return true;
      do {
        std::string key;
        if (!String(&key) || !Accept(':')) return Fail("expected \"key\":");
        if (!Value(path.empty() ? key : path + "." + key)) return false;
      } while (Accept(','));
      return Accept('}') || Fail("expected , or }");
    }
    if (c == '[') {
      ++pos_;
      if (Accept(']')) return true;
      int i = 0;
      do {
        if (!Value(path + "[" + std::to_string(i++) + "]")) return false;
      } while (Accept(','));
      return Accept(']') || Fail("expected , or ]");
    }
    if (c == '"') {
      std::string value;
      if (!String(&value)) return false;
      (*out_)[path] = value;
      return true;
    }
    for (const char* literal : {"true", "false", "null"}) {
      if (s_.compare(pos_, std::char_traits<char>::length(literal), literal) == 0) {
        pos_ += std::char_traits<char>::length(literal);
        (*out_)[path] = literal;
        return true;
      }
    }
    return Number(path);
  }

  std::string s_, error_;
  size_t pos_ = 0;
  std::map<std::string, std::string>* out_ = nullptr;
};

// Returns "" when `xml` is one well-formed element (with optional text and
// whitespace around it), else what is wrong and where. Counts every start
// tag by name into `elements` when given.
inline std::string CheckXml(const std::string& xml,
                            std::map<std::string, int>* elements = nullptr) {
  std::vector<std::string> open;
  int roots = 0;
  auto where = [](size_t at) { return " at byte " + std::to_string(at); };
  for (size_t i = 0; i < xml.size();) {
    if (xml[i] == '&') {
      const size_t semi = xml.find(';', i);
      const std::string entity = semi == std::string::npos ? "" : xml.substr(i, semi - i + 1);
      if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" && entity != "&quot;" &&
          entity != "&apos;") {
        return "bad entity" + where(i);
      }
      i = semi + 1;
      continue;
    }
    if (xml[i] == '>') return "stray >" + where(i);
    if (xml[i] != '<') {
      if (open.empty() && !std::isspace(static_cast<unsigned char>(xml[i])))
        return "text outside the root" + where(i);
      ++i;
      continue;
    }
    const bool closing = i + 1 < xml.size() && xml[i + 1] == '/';
    size_t j = i + (closing ? 2 : 1);
    const size_t name_start = j;
    while (j < xml.size() &&
           (std::isalnum(static_cast<unsigned char>(xml[j])) || xml[j] == '-' || xml[j] == ':'))
      ++j;
    const std::string name = xml.substr(name_start, j - name_start);
    if (name.empty()) return "tag without a name" + where(i);
    if (closing) {
      if (open.empty() || open.back() != name)
        return "</" + name + "> does not close the open element" + where(i);
      open.pop_back();
      if (j >= xml.size() || xml[j] != '>') return "bad end tag" + where(i);
      i = j + 1;
      continue;
    }
    if (open.empty() && ++roots > 1) return "a second root element" + where(i);
    // Attributes: name="value" with no raw < or & other than entities.
    for (;;) {
      while (j < xml.size() && std::isspace(static_cast<unsigned char>(xml[j]))) ++j;
      if (j >= xml.size()) return "unterminated tag" + where(i);
      if (xml[j] == '>' || (xml[j] == '/' && j + 1 < xml.size() && xml[j + 1] == '>')) break;
      const size_t attr = j;
      while (j < xml.size() &&
             (std::isalnum(static_cast<unsigned char>(xml[j])) || xml[j] == '-' || xml[j] == ':'))
        ++j;
      if (j == attr || j + 1 >= xml.size() || xml[j] != '=' || xml[j + 1] != '"')
        return "bad attribute" + where(attr);
      const size_t close = xml.find('"', j + 2);
      if (close == std::string::npos) return "unterminated attribute" + where(attr);
      const std::string value = xml.substr(j + 2, close - j - 2);
      if (value.find('<') != std::string::npos) return "< in an attribute" + where(attr);
      j = close + 1;
    }
    if (elements != nullptr) ++(*elements)[name];
    if (xml[j] == '/') {
      i = j + 2;
      continue;
    }
    open.push_back(name);
    i = j + 1;
  }
  if (!open.empty()) return "<" + open.back() + "> is never closed";
  return roots == 1 ? "" : "no root element";
}

}  // namespace lstmad::tools::testing
