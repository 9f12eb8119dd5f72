#include "tools/meterctl/args.h"

#include <algorithm>

namespace meterd::meterctl {

std::optional<std::string> ParsedArgs::Get(std::string_view name) const {
  auto it = options_.find(name);
  if (it == options_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> ParsedArgs::GetAll(std::string_view name) const {
  auto it = options_.find(name);
  if (it == options_.end()) return {};
  return it->second;
}

Result<ParsedArgs> ParseArgs(std::span<const std::string> args,
                             std::span<const OptionSpec* const> specs) {
  auto find = [&](std::string_view name) -> const OptionSpec* {
    for (const OptionSpec* s : specs) {
      if (s->name == name) return s;
    }
    return nullptr;
  };
  ParsedArgs out;
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_done || a.size() < 2 || a[0] != '-' || a == "-") {
      out.positionals_.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    std::string name;
    std::optional<std::string> inline_value;
    if (a == "-h") {
      name = "help";
    } else if (a.rfind("--", 0) == 0) {
      const size_t eq = a.find('=');
      name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      if (eq != std::string::npos) inline_value = a.substr(eq + 1);
    } else {
      return Status::InvalidArgument("unknown option " + a);
    }
    const OptionSpec* spec = find(name);
    if (spec == nullptr) return Status::InvalidArgument("unknown option --" + name);
    std::string value;
    if (spec->value_name.empty()) {
      if (inline_value) return Status::InvalidArgument("--" + name + " takes no value");
    } else if (inline_value) {
      value = *inline_value;
    } else {
      if (i + 1 >= args.size()) {
        return Status::InvalidArgument("--" + name + " needs a value (" +
                                       std::string(spec->value_name) + ")");
      }
      value = args[++i];
    }
    auto& values = out.options_[name];
    if (!values.empty() && !spec->repeatable && name != "help") {
      return Status::InvalidArgument("--" + name + " given twice");
    }
    values.push_back(std::move(value));
  }
  return out;
}

std::string FormatOptions(std::span<const OptionSpec* const> specs) {
  size_t width = 0;
  std::vector<std::string> heads;
  for (const OptionSpec* s : specs) {
    // Appended piecewise: GCC 12 at -O3 flags "literal" + std::string with a bogus -Wrestrict.
    std::string head("--");
    head.append(s->name);
    if (!s->value_name.empty()) head.append(" ").append(s->value_name);
    width = std::max(width, head.size());
    heads.push_back(std::move(head));
  }
  std::string out;
  for (size_t i = 0; i < specs.size(); ++i) {
    out += "  " + heads[i] + std::string(width - heads[i].size() + 2, ' ') +
           std::string(specs[i]->help) + "\n";
  }
  return out;
}

}  // namespace meterd::meterctl
