#include "tools/loadgen/reference_files.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tools/loadgen/number_text.h"

namespace meterd::loadgen {
namespace {

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out->append("\\u00");
      out->push_back(kHex[(c >> 4) & 0xf]);
      out->push_back(kHex[c & 0xf]);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

// Appends ,"key":"value".
void Field(std::string_view key, std::string_view value, std::string* out) {
  out->push_back(',');
  AppendJsonString(key, out);
  out->push_back(':');
  AppendJsonString(value, out);
}

std::string RenderReference(const World& w) {
  std::string out;
  for (const Partner& p : w.partners) {
    out += "{\"type\":\"partner\"";
    Field("partner_id", p.partner_id, &out);
    Field("name", p.name, &out);
    Field("mpn_id", p.mpn_id, &out);
    Field("kind", p.indirect_provider ? "indirect_provider" : "direct", &out);
    out += p.mpn_active ? ",\"mpn_active\":true}\n" : ",\"mpn_active\":false}\n";
  }
  for (const Reseller& r : w.resellers) {
    out += "{\"type\":\"reseller\"";
    Field("mpn_id", r.mpn_id, &out);
    Field("name", r.name, &out);
    Field("partner_id", w.partners[static_cast<size_t>(r.partner)].partner_id, &out);
    out += "}\n";
  }
  for (const Customer& c : w.customers) {
    out += "{\"type\":\"customer\"";
    Field("customer_id", c.customer_id, &out);
    Field("name", c.name, &out);
    Field("domain", c.domain, &out);
    Field("country", w.markets[static_cast<size_t>(c.market)].country, &out);
    Field("partner_id", w.partners[static_cast<size_t>(c.partner)].partner_id, &out);
    if (c.reseller >= 0) {
      Field("reseller_mpn_id", w.resellers[static_cast<size_t>(c.reseller)].mpn_id, &out);
    }
    if (c.currency_override) Field("currency", c.currency, &out);
    out += "}\n";
  }
  for (const Entitlement& e : w.entitlements) {
    out += "{\"type\":\"entitlement\"";
    Field("entitlement_id", e.entitlement_id, &out);
    Field("customer_id", w.customers[static_cast<size_t>(e.customer)].customer_id, &out);
    Field("description", e.description, &out);
    Field("offer", e.offer, &out);
    Field("created_at", rating::FormatRfc3339(e.created_at), &out);
    out += e.aobo ? ",\"aobo\":true}\n" : ",\"aobo\":false}\n";
  }
  for (const Grant& g : w.grants) {
    out += "{\"type\":\"grant\"";
    Field("grant_id", g.grant_id, &out);
    Field("entitlement_id", w.entitlements[static_cast<size_t>(g.entitlement)].entitlement_id,
          &out);
    Field("scope", g.scope, &out);
    Field("principal_mpn_id", g.principal_mpn_id, &out);
    Field("role", g.role, &out);
    Field("start", rating::FormatRfc3339(g.start), &out);
    if (g.end) Field("end", rating::FormatRfc3339(*g.end), &out);
    out += "}\n";
  }
  return out;
}

std::string RenderPriceSheet(const World& w) {
  std::string out = kPriceSheetHeader;
  out += "\n";
  for (const Market& market : w.markets) {
    for (const PriceTable& t : market.tables) {
      const Meter& m = w.meters[static_cast<size_t>(t.meter)];
      for (const PriceTier& tier : t.tiers) {
        for (std::string_view cell : {std::string_view(m.product_id), std::string_view(m.sku_id),
                                      std::string_view(m.meter_id), std::string_view(m.name),
                                      std::string_view(m.category), std::string_view(m.subcategory),
                                      std::string_view(m.region), std::string_view(m.unit)}) {
          AppendCsvCell(cell, &out);
          out.push_back(',');
        }
        out += market.country;
        out += ",USD,";
        AppendFixed(tier.price_nanos, 9, &out);
        out.push_back(',');
        AppendFixed(tier.min_nanos, 9, &out);
        out.push_back(',');
        if (tier.max_nanos) AppendFixed(*tier.max_nanos, 9, &out);
        out.push_back(',');
        out += rating::FormatDate(t.start);
        out.push_back(',');
        if (t.end) out += rating::FormatDate(*t.end);
        out.push_back(',');
        AppendCsvCell(m.tags, &out);
        out.push_back(',');
        AppendCsvCell(m.publisher, &out);
        out.push_back('\n');
      }
    }
  }
  return out;
}

std::string RenderFx(const World& w) {
  std::string out = "{";
  bool first_month = true;
  for (const FxMonth& m : w.fx) {
    if (m.picos.empty()) continue;
    out += first_month ? "\n " : ",\n ";
    first_month = false;
    AppendJsonString(rating::FormatMonth(m.month), &out);
    out += ": {";
    bool first = true;
    for (const auto& [currency, picos] : m.picos) {
      out += first ? "" : ", ";
      first = false;
      AppendJsonString(currency, &out);
      out += ": \"";
      AppendFixed(picos, 12, &out);
      out += "\"";
    }
    out += "}";
  }
  out += first_month ? "}\n" : "\n}\n";
  return out;
}

// An amount in whole minor units of its currency: "25.00", "2500" (JPY).
std::string AmountText(int64_t nanos, int minor_units) {
  std::string out;
  AppendUint(static_cast<uint64_t>(nanos / 1'000'000'000), &out);
  if (minor_units == 0) return out;
  int64_t frac = nanos % 1'000'000'000;
  for (int i = minor_units; i < 9; ++i) frac /= 10;
  out.push_back('.');
  std::string digits;
  AppendUint(static_cast<uint64_t>(frac), &digits);
  out.append(static_cast<size_t>(minor_units) - digits.size(), '0');
  out += digits;
  return out;
}

std::string RenderBudgets(const World& w) {
  std::string out = "{";
  bool first = true;
  for (const Budget& b : w.budgets) {
    const Customer& c = w.customers[static_cast<size_t>(b.customer)];
    out += first ? "\n " : ",\n ";
    first = false;
    AppendJsonString(c.customer_id, &out);
    out += ": {\"amount\": ";
    AppendJsonString(AmountText(b.amount_nanos, MinorUnits(c.currency)), &out);
    out += b.billed_basis ? ", \"basis\": \"billed\"" : ", \"basis\": \"list\"";
    out += ", \"thresholds\": [";
    for (size_t i = 0; i < b.thresholds.size(); ++i) {
      if (i > 0) out += ", ";
      AppendUint(static_cast<uint64_t>(b.thresholds[i]), &out);
    }
    out += "]}";
  }
  out += first ? "}\n" : "\n}\n";
  return out;
}

Status WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Status::IoError("cannot write " + path.string() + ": " + std::strerror(errno));
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
  f.close();
  if (!f) return Status::IoError("cannot write " + path.string());
  return Status::Ok();
}

Result<std::string> ReadFile(const std::filesystem::path& path, bool required) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    if (!required && !std::filesystem::exists(path)) return std::string();
    return Status::IoError("cannot read " + path.string());
  }
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

ReferenceFiles RenderReferenceFiles(const World& world) {
  ReferenceFiles files;
  files.reference_ndjson = RenderReference(world);
  files.pricesheet_csv = RenderPriceSheet(world);
  files.fx_json = RenderFx(world);
  files.budgets_json = RenderBudgets(world);
  files.now_txt = rating::FormatRfc3339(world.options.now) + "\n";
  return files;
}

Status WriteReferenceFiles(const ReferenceFiles& files, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir + ": " + ec.message());
  std::filesystem::path d(dir);
  METERD_RETURN_IF_ERROR(WriteFile(d / "reference.ndjson", files.reference_ndjson));
  METERD_RETURN_IF_ERROR(WriteFile(d / "pricesheet.csv", files.pricesheet_csv));
  METERD_RETURN_IF_ERROR(WriteFile(d / "fx.json", files.fx_json));
  METERD_RETURN_IF_ERROR(WriteFile(d / "budgets.json", files.budgets_json));
  return WriteFile(d / "now.txt", files.now_txt);
}

Result<ReferenceFiles> ReadReferenceFiles(const std::string& dir) {
  std::filesystem::path d(dir);
  ReferenceFiles files;
  struct Entry {
    const char* name;
    std::string* target;
    bool required;
  };
  for (const Entry& e :
       {Entry{"reference.ndjson", &files.reference_ndjson, true},
        Entry{"pricesheet.csv", &files.pricesheet_csv, false},
        Entry{"fx.json", &files.fx_json, false}, Entry{"budgets.json", &files.budgets_json, false},
        Entry{"now.txt", &files.now_txt, false}}) {
    Result<std::string> text = ReadFile(d / e.name, e.required);
    if (!text.ok()) return text.status();
    *e.target = std::move(*text);
  }
  return files;
}

}  // namespace meterd::loadgen
