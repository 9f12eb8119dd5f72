#include "daemon/ingest/reference_parser.h"

#include <algorithm>
#include <array>
#include <utility>

#include "daemon/ingest/json_fields.h"

namespace meterd::ingest {

namespace ondemand = simdjson::ondemand;
using rating::Decimal;
using rating::DecimalError;
using rating::Timestamp;

std::string_view EntityTypeName(EntityType type) {
  switch (type) {
    case EntityType::kPartner:
      return "partner";
    case EntityType::kReseller:
      return "reseller";
    case EntityType::kCustomer:
      return "customer";
    case EntityType::kEntitlement:
      return "entitlement";
    case EntityType::kGrant:
      return "grant";
  }
  return "partner";
}

std::optional<EntityType> EntityTypeFromName(std::string_view name) {
  for (EntityType t : {EntityType::kPartner, EntityType::kReseller, EntityType::kCustomer,
                       EntityType::kEntitlement, EntityType::kGrant}) {
    if (name == EntityTypeName(t)) return t;
  }
  return std::nullopt;
}

std::string_view ReferenceErrorName(ReferenceError error) {
  switch (error) {
    case ReferenceError::kBadJson:
      return "bad_json";
    case ReferenceError::kUnknownType:
      return "unknown_type";
    case ReferenceError::kMissingField:
      return "missing_field";
    case ReferenceError::kTooLong:
      return "too_long";
    case ReferenceError::kBadValue:
      return "bad_value";
    case ReferenceError::kBadTimestamp:
      return "bad_timestamp";
  }
  return "bad_json";
}

namespace {

// Every field any entity type knows; a line keeps only those of its type.
enum RefField : uint8_t {
  kType,
  kPartnerId,
  kName,
  kMpnId,
  kKind,
  kMpnActive,
  kCustomerId,
  kDomain,
  kCountry,
  kResellerMpnId,
  kCurrency,
  kEntitlementId,
  kDescription,
  kOffer,
  kCreatedAt,
  kAobo,
  kGrantId,
  kScope,
  kPrincipalMpnId,
  kRole,
  kStart,
  kEnd,
  kRefFieldCount,
};

constexpr std::array<std::string_view, kRefFieldCount> kRefFieldNames = {"type",
                                                                         "partner_id",
                                                                         "name",
                                                                         "mpn_id",
                                                                         "kind",
                                                                         "mpn_active",
                                                                         "customer_id",
                                                                         "domain",
                                                                         "country",
                                                                         "reseller_mpn_id",
                                                                         "currency",
                                                                         "entitlement_id",
                                                                         "description",
                                                                         "offer",
                                                                         "created_at",
                                                                         "aobo",
                                                                         "grant_id",
                                                                         "scope",
                                                                         "principal_mpn_id",
                                                                         "role",
                                                                         "start",
                                                                         "end"};

std::optional<RefField> ClassifyRefField(std::string_view key) {
  for (size_t i = 0; i < kRefFieldNames.size(); ++i) {
    if (kRefFieldNames[i] == key) return static_cast<RefField>(i);
  }
  return std::nullopt;
}

struct Slot {
  uint32_t count = 0;
  ScalarKind kind = ScalarKind::kNull;
  std::string_view text;  // valid while the document is
};
using Slots = std::array<Slot, kRefFieldCount>;

struct Problem {
  ReferenceError error;
  std::string detail;
};

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string Lower(std::string_view s) {
  std::string out(s.size(), '\0');
  CopyAsciiLower(s, out.data());
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s.size(), '\0');
  CopyAsciiUpper(s, out.data());
  return out;
}

bool IsAsciiLetters(std::string_view s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  return true;
}

// Reads typed fields from scanned slots; the first problem sticks and later reads are no-ops,
// so the problem reported is that of the first field read, in the entity's field order.
class FieldReader {
 public:
  explicit FieldReader(const Slots& slots) : slots_(slots) {}

  const std::optional<Problem>& problem() const { return problem_; }

  // A string field, "" when absent or null (free text is optional).
  std::string Text(RefField f) {
    auto s = String(f, kMaxReferenceTextBytes);
    return s ? std::string(*s) : std::string();
  }

  // A required id, lowercased. With a path id (single-object bodies), an absent field is
  // filled from it and a present one must match it.
  std::string Id(RefField f, std::string_view path_id = {}) {
    if (!path_id.empty() && Absent(f)) {
      if (path_id.size() > kMaxReferenceIdBytes) {
        Fail(ReferenceError::kTooLong, "the id in the path is longer than 128 bytes");
        return {};
      }
      if (HasNul(path_id)) {
        Fail(ReferenceError::kBadValue, "the id in the path contains a NUL character");
        return {};
      }
      return Lower(path_id);
    }
    auto s = KeyString(f, kMaxReferenceIdBytes);
    if (problem_) return {};
    if (!s || s->empty()) {
      Fail(ReferenceError::kMissingField, Quoted(kRefFieldNames[f]) + " is missing or empty");
      return {};
    }
    std::string id = Lower(*s);
    if (!path_id.empty() && id != Lower(path_id)) {
      Fail(ReferenceError::kBadValue, Quoted(kRefFieldNames[f]) + " " + Quoted(*s) +
                                          " does not match the id in the path " + Quoted(path_id));
    }
    return id;
  }

  // An optional id, lowercased; "" counts as absent.
  std::optional<std::string> OptionalId(RefField f) {
    auto s = KeyString(f, kMaxReferenceIdBytes);
    if (!s || s->empty()) return std::nullopt;
    return Lower(*s);
  }

  // A required lowercased string with a custom limit (scope).
  std::string LowerText(RefField f, size_t limit) {
    auto s = KeyString(f, limit);
    if (problem_) return {};
    if (!s || s->empty()) {
      Fail(ReferenceError::kMissingField, Quoted(kRefFieldNames[f]) + " is missing or empty");
      return {};
    }
    return Lower(*s);
  }

  bool Bool(RefField f, bool fallback) {
    if (problem_ || Absent(f)) return fallback;
    const Slot& s = slots_[f];
    if (s.kind != ScalarKind::kBoolean) {
      Fail(ReferenceError::kBadValue, Quoted(kRefFieldNames[f]) + " must be true or false");
      return fallback;
    }
    return s.text == "true";
  }

  Timestamp Time(RefField f) {
    auto t = OptionalTime(f);
    if (!problem_ && !t) {
      Fail(ReferenceError::kMissingField, Quoted(kRefFieldNames[f]) + " is missing or empty");
    }
    return t.value_or(Timestamp{});
  }

  std::optional<Timestamp> OptionalTime(RefField f) {
    if (problem_ || Absent(f)) return std::nullopt;
    const Slot& s = slots_[f];
    if (s.kind == ScalarKind::kString && s.text.empty()) return std::nullopt;
    Timestamp t;
    if (s.kind != ScalarKind::kString || !rating::ParseRfc3339(s.text, &t)) {
      Fail(ReferenceError::kBadTimestamp,
           Quoted(kRefFieldNames[f]) + " is not an RFC 3339 timestamp");
      return std::nullopt;
    }
    return t;
  }

  // A code of `letters` ASCII letters, uppercased; required or not.
  std::optional<std::string> Code(RefField f, size_t letters, bool required) {
    auto s = String(f, kMaxReferenceIdBytes);
    if (problem_) return std::nullopt;
    if (!s || s->empty()) {
      if (required) {
        Fail(ReferenceError::kMissingField, Quoted(kRefFieldNames[f]) + " is missing or empty");
      }
      return std::nullopt;
    }
    if (!IsAsciiLetters(*s, letters)) {
      Fail(ReferenceError::kBadValue, Quoted(kRefFieldNames[f]) + " must be " +
                                          std::to_string(letters) + " ASCII letters, not " +
                                          Quoted(*s));
      return std::nullopt;
    }
    return Upper(*s);
  }

  // A required enumerated string, looked up by `parse`.
  template <typename Parse>
  auto Enum(RefField f, Parse parse, std::string_view allowed) -> decltype(parse("")) {
    auto s = String(f, kMaxReferenceTextBytes);
    if (problem_) return std::nullopt;
    if (!s || s->empty()) {
      Fail(ReferenceError::kMissingField, Quoted(kRefFieldNames[f]) + " is missing or empty");
      return std::nullopt;
    }
    auto v = parse(*s);
    if (!v) {
      Fail(ReferenceError::kBadValue,
           Quoted(kRefFieldNames[f]) + " must be " + std::string(allowed) + ", not " + Quoted(*s));
    }
    return v;
  }

 private:
  bool Absent(RefField f) const {
    return slots_[f].count == 0 || slots_[f].kind == ScalarKind::kNull;
  }

  // The field's string, nullopt when absent or null; fails on a non-string or an overlong one.
  std::optional<std::string_view> String(RefField f, size_t limit) {
    if (problem_ || Absent(f)) return std::nullopt;
    const Slot& s = slots_[f];
    if (s.kind != ScalarKind::kString) {
      Fail(ReferenceError::kBadValue, Quoted(kRefFieldNames[f]) + " must be a string");
      return std::nullopt;
    }
    if (s.text.size() > limit) {
      Fail(ReferenceError::kTooLong,
           Quoted(kRefFieldNames[f]) + " is longer than " + std::to_string(limit) + " bytes");
      return std::nullopt;
    }
    return s.text;
  }

  static bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

  // String() for values that end up in storage keys or are compared as keys (ids, scope, role).
  // Keys separate their fields with NUL, so an escaped \u0000 in one could make two different
  // objects share a key or a prefix scan cross into another object's records. Free text (name,
  // domain, description) is stored in values only and may hold it.
  std::optional<std::string_view> KeyString(RefField f, size_t limit) {
    auto s = String(f, limit);
    if (s && HasNul(*s)) {
      Fail(ReferenceError::kBadValue, Quoted(kRefFieldNames[f]) + " contains a NUL character");
      return std::nullopt;
    }
    return s;
  }

  void Fail(ReferenceError error, std::string detail) {
    if (!problem_) problem_ = Problem{error, std::move(detail)};
  }

  const Slots& slots_;
  std::optional<Problem> problem_;
};

using Built = std::variant<ReferenceEntity, Problem>;

Built BuildEntity(EntityType type, const Slots& slots, std::string_view path_id) {
  FieldReader r(slots);
  auto done = [&r](auto entity) -> Built {
    if (r.problem()) return *r.problem();
    return ReferenceEntity(std::move(entity));
  };
  switch (type) {
    case EntityType::kPartner: {
      rating::Partner p;
      p.partner_id = r.Id(kPartnerId, path_id);
      p.name = r.Text(kName);
      p.mpn_id = r.Id(kMpnId);
      p.kind = r.Enum(kKind, rating::PartnerKindFromName, "'direct' or 'indirect_provider'")
                   .value_or(rating::PartnerKind::kDirect);
      p.mpn_active = r.Bool(kMpnActive, true);
      return done(std::move(p));
    }
    case EntityType::kReseller: {
      rating::Reseller s;
      s.mpn_id = r.Id(kMpnId, path_id);
      s.name = r.Text(kName);
      s.partner_id = r.Id(kPartnerId);
      return done(std::move(s));
    }
    case EntityType::kCustomer: {
      rating::Customer c;
      c.customer_id = r.Id(kCustomerId, path_id);
      c.name = r.Text(kName);
      c.domain = r.Text(kDomain);
      c.country = r.Code(kCountry, 2, /*required=*/true).value_or("");
      c.partner_id = r.Id(kPartnerId);
      c.reseller_mpn_id = r.OptionalId(kResellerMpnId);
      c.currency = r.Code(kCurrency, 3, /*required=*/false);
      return done(std::move(c));
    }
    case EntityType::kEntitlement: {
      rating::Entitlement e;
      e.entitlement_id = r.Id(kEntitlementId, path_id);
      e.customer_id = r.Id(kCustomerId);
      e.description = r.Text(kDescription);
      e.offer = r.Enum(kOffer, rating::OfferFromName, "'azure_plan', 'legacy' or 'shared_services'")
                    .value_or(rating::Offer::kAzurePlan);
      e.created_at = r.Time(kCreatedAt);
      e.aobo = r.Bool(kAobo, true);
      return done(std::move(e));
    }
    case EntityType::kGrant: {
      rating::Grant g;
      g.grant_id = r.Id(kGrantId, path_id);
      if (r.problem()) return *r.problem();
      if (g.grant_id.starts_with(rating::kAoboGrantPrefix)) {
        // The implied grant takes only `end`; its entitlement is in its id (§8.23).
        g.entitlement_id = g.grant_id.substr(rating::kAoboGrantPrefix.size());
        if (g.entitlement_id.empty()) {
          return Problem{ReferenceError::kBadValue,
                         "'grant_id' 'aobo:' must be followed by an entitlement id"};
        }
        g.end = r.OptionalTime(kEnd);
        return done(std::move(g));
      }
      g.entitlement_id = r.Id(kEntitlementId);
      g.scope = r.LowerText(kScope, kMaxReferenceTextBytes);
      g.principal_mpn_id = r.Id(kPrincipalMpnId);
      g.role = r.Id(kRole);
      g.start = r.Time(kStart);
      g.end = r.OptionalTime(kEnd);
      return done(std::move(g));
    }
  }
  return Problem{ReferenceError::kUnknownType, "unknown type"};
}

Problem JsonProblem(simdjson::error_code err) {
  return Problem{ReferenceError::kBadJson, "malformed JSON: " + std::string(JsonErrorDetail(err))};
}

// After a complete object: anything left is trailing content.
simdjson::error_code CheckAtEnd(ondemand::document& doc) {
  return doc.current_location().error() == simdjson::OUT_OF_BOUNDS ? simdjson::SUCCESS
                                                                   : simdjson::TRAILING_CONTENT;
}

Status ProblemStatus(const Problem& p) {
  return Status(p.error == ReferenceError::kBadJson ? kMalformedBody : kInvalidBody, p.detail);
}

// A scalar copied out of the document (FX and budget values outlive the field they came from).
struct OwnedScalar {
  ScalarKind kind = ScalarKind::kNull;
  std::string text;
};

std::string DecimalProblem(std::string_view what, DecimalError err, int digits) {
  switch (err) {
    case DecimalError::kTooPrecise:
      return std::string(what) + " has more than " + std::to_string(digits) + " fractional digits";
    case DecimalError::kOutOfRange:
      return std::string(what) + " is out of range";
    default:
      return std::string(what) + " is not a decimal number";
  }
}

}  // namespace

struct ReferenceParser::Impl {
  ondemand::parser parser;
  PaddedBuffer buffer;
  Slots slots;

  Impl() {
    simdjson::error_code err = parser.allocate(64 * 1024, kMaxJsonDepth + 2);
    // The depth limit is ours (ValidateJsonValue); simdjson's own depth only feeds the
    // assertions of its development checks (debug builds), which count one level more.
    (void)err;  // iterate() retries the allocation and reports MEMALLOC itself
  }

  simdjson::error_code ScanEntity(std::string_view json, size_t capacity) {
    for (Slot& s : slots) s = Slot{};
    ondemand::document doc;
    if (auto err = parser.iterate(json.data(), json.size(), capacity).get(doc)) return err;
    ondemand::object object;
    if (auto err = doc.get_object().get(object)) return err;
    for (auto field : object) {
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return err;
      ondemand::value value;
      if (auto err = field.value().get(value)) return err;
      std::optional<RefField> f = ClassifyRefField(key);
      if (!f) {
        if (auto err = ValidateJsonValue(value, 2)) return err;
        continue;
      }
      Slot& slot = slots[*f];
      ++slot.count;
      if (auto err = ReadScalar(value, 2, &slot.kind, &slot.text)) return err;
    }
    return CheckAtEnd(doc);
  }

  // One entity from `json`, which must lie in `buffer` with `capacity` bytes readable.
  Built ParseOne(std::string_view json, size_t capacity, std::optional<EntityType> expected,
                 std::string_view path_id) {
    if (auto err = ScanEntity(json, capacity)) return JsonProblem(err);
    for (size_t f = 0; f < kRefFieldCount; ++f) {
      if (slots[f].count > 1) {
        return Problem{ReferenceError::kBadJson,
                       "field " + Quoted(kRefFieldNames[f]) + " appears more than once"};
      }
    }
    const Slot& t = slots[kType];
    std::optional<EntityType> type = expected;
    if (t.kind == ScalarKind::kNull) {
      if (!expected) return Problem{ReferenceError::kMissingField, "'type' is missing"};
    } else if (t.kind != ScalarKind::kString) {
      return Problem{ReferenceError::kUnknownType, "'type' must be a string"};
    } else {
      type = EntityTypeFromName(t.text);
      if (!type) {
        return Problem{ReferenceError::kUnknownType,
                       "unknown type " + Quoted(t.text) +
                           " (partner, reseller, customer, entitlement or grant)"};
      }
      if (expected && *type != *expected) {
        return Problem{ReferenceError::kBadValue, "'type' " + Quoted(t.text) +
                                                      " does not match the path, which names a " +
                                                      std::string(EntityTypeName(*expected))};
      }
    }
    return BuildEntity(*type, slots, path_id);
  }

  // Copies a single-object body into the padded buffer and opens it.
  simdjson::error_code Open(std::string_view body, ondemand::document* doc) {
    buffer.Assign(body);
    std::string_view v = buffer.view();
    return parser.iterate(v.data(), v.size(), v.size() + kJsonPadding).get(*doc);
  }
};

ReferenceParser::ReferenceParser() : impl_(std::make_unique<Impl>()) {}
ReferenceParser::~ReferenceParser() = default;

void ReferenceParser::ParseNdjson(std::string_view body, ReferenceBatch* out) {
  out->entities.clear();
  out->errors.clear();
  out->rejected = 0;
  impl_->buffer.Assign(body);
  std::string_view padded = impl_->buffer.view();
  const char* end = padded.data() + padded.size();
  NdjsonLines lines(padded);
  std::string_view line;
  uint32_t number;
  while (lines.Next(&line, &number)) {
    if (IsBlank(line)) continue;
    size_t capacity = static_cast<size_t>(end - line.data()) + kJsonPadding;
    Built built = impl_->ParseOne(line, capacity, std::nullopt, {});
    if (auto* entity = std::get_if<ReferenceEntity>(&built)) {
      out->entities.push_back(ReferenceLine{number, std::move(*entity)});
      continue;
    }
    ++out->rejected;
    if (out->errors.size() < kMaxListedReferenceErrors) {
      Problem& p = std::get<Problem>(built);
      out->errors.push_back(ReferenceLineError{number, p.error, std::move(p.detail)});
    }
  }
}

Result<ReferenceEntity> ReferenceParser::ParseEntity(EntityType type, std::string_view path_id,
                                                     std::string_view body) {
  if (path_id.empty()) return Status(kInvalidBody, "the id in the path is empty");
  impl_->buffer.Assign(body);
  std::string_view v = impl_->buffer.view();
  Built built = impl_->ParseOne(v, v.size() + kJsonPadding, type, path_id);
  if (auto* p = std::get_if<Problem>(&built)) return ProblemStatus(*p);
  return std::move(std::get<ReferenceEntity>(built));
}

Result<FxBody> ReferenceParser::ParseFx(std::string_view body) {
  std::vector<std::pair<std::string, OwnedScalar>> entries;
  uint32_t rates_count = 0;
  ScalarKind rates_kind = ScalarKind::kNull;
  auto scan = [&]() -> simdjson::error_code {
    ondemand::document doc;
    if (auto err = impl_->Open(body, &doc)) return err;
    ondemand::object object;
    if (auto err = doc.get_object().get(object)) return err;
    for (auto field : object) {
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return err;
      ondemand::value value;
      if (auto err = field.value().get(value)) return err;
      if (key != "rates") {
        if (auto err = ValidateJsonValue(value, 2)) return err;
        continue;
      }
      ++rates_count;
      ondemand::json_type type;
      if (auto err = value.type().get(type)) return err;
      if (type != ondemand::json_type::object) {
        std::string_view ignored;
        if (auto err = ReadScalar(value, 2, &rates_kind, &ignored)) return err;
        continue;
      }
      rates_kind = ScalarKind::kObject;
      ondemand::object rates;
      if (auto err = value.get_object().get(rates)) return err;
      for (auto rate : rates) {
        std::string_view currency;
        if (auto err = rate.unescaped_key().get(currency)) return err;
        std::pair<std::string, OwnedScalar> entry{std::string(currency), {}};
        ondemand::value rate_value;
        if (auto err = rate.value().get(rate_value)) return err;
        std::string_view text;
        if (auto err = ReadScalar(rate_value, 3, &entry.second.kind, &text)) return err;
        entry.second.text = text;
        entries.push_back(std::move(entry));
      }
    }
    return CheckAtEnd(doc);
  };
  if (auto err = scan()) return ProblemStatus(JsonProblem(err));
  if (rates_count > 1) return Status(kMalformedBody, "field 'rates' appears more than once");
  if (rates_kind == ScalarKind::kNull) return Status(kInvalidBody, "'rates' is missing");
  if (rates_kind != ScalarKind::kObject) {
    return Status(kInvalidBody, "'rates' must be an object of currency code to rate");
  }

  FxBody out;
  out.rates.reserve(entries.size());
  for (auto& [currency, value] : entries) {
    if (!IsAsciiLetters(currency, 3)) {
      return Status(kInvalidBody, "currency " + Quoted(currency) + " is not 3 ASCII letters");
    }
    std::string code = Upper(currency);
    std::string what = "the rate for " + code;
    if (value.kind != ScalarKind::kNumber && value.kind != ScalarKind::kString) {
      return Status(kInvalidBody, what + " must be a number or a decimal string");
    }
    rating::FxRate rate;
    DecimalError err = rating::FxRate::Parse(value.text, &rate);
    if (err != DecimalError::kOk) {
      return Status(kInvalidBody, DecimalProblem(what, err, rating::FxRate::kFractionDigits));
    }
    if (rate.picos() <= 0) return Status(kInvalidBody, what + " must be greater than 0");
    out.rates.push_back(FxRateEntry{std::move(code), rate});
  }
  std::sort(out.rates.begin(), out.rates.end(),
            [](const FxRateEntry& a, const FxRateEntry& b) { return a.currency < b.currency; });
  for (size_t i = 1; i < out.rates.size(); ++i) {
    if (out.rates[i].currency == out.rates[i - 1].currency) {
      return Status(kInvalidBody, "currency " + out.rates[i].currency + " is given twice");
    }
  }
  return out;
}

namespace {

// A top-level field of a budget body: a scalar, or an array of scalars.
struct BudgetField {
  uint32_t count = 0;
  ScalarKind kind = ScalarKind::kNull;
  std::string text;
  std::vector<OwnedScalar> items;
};

enum BudgetFieldId : uint8_t {
  kAmount,
  kBasis,
  kThresholds,
  kForecastThresholds,
  kCustomerIds,
  kBudgetFieldCount
};
constexpr std::array<std::string_view, kBudgetFieldCount> kBudgetFieldNames = {
    "amount", "basis", "thresholds", "forecast_thresholds", "customer_ids"};

Result<std::vector<Decimal>> ThresholdList(std::string_view name, const BudgetField& f) {
  if (f.kind != ScalarKind::kArray) {
    return Status(kInvalidBody, "'" + std::string(name) + "' must be an array of percentages");
  }
  std::vector<Decimal> out;
  out.reserve(f.items.size());
  for (const OwnedScalar& item : f.items) {
    std::string what = "a value of '" + std::string(name) + "'";
    if (item.kind != ScalarKind::kNumber && item.kind != ScalarKind::kString) {
      return Status(kInvalidBody, what + " is not a number or a decimal string");
    }
    Decimal d;
    DecimalError err = Decimal::Parse(item.text, &d);
    if (err != DecimalError::kOk) {
      return Status(kInvalidBody, DecimalProblem(what, err, Decimal::kFractionDigits));
    }
    out.push_back(d);
  }
  return out;
}

Result<std::vector<std::string>> IdList(const BudgetField& f) {
  if (f.kind == ScalarKind::kNull) return Status(kInvalidBody, "'customer_ids' is missing");
  if (f.kind != ScalarKind::kArray) {
    return Status(kInvalidBody, "'customer_ids' must be an array of strings");
  }
  if (f.items.empty()) return Status(kInvalidBody, "'customer_ids' is empty");
  std::vector<std::string> out;
  out.reserve(f.items.size());
  for (const OwnedScalar& item : f.items) {
    if (item.kind != ScalarKind::kString || item.text.empty()) {
      return Status(kInvalidBody, "'customer_ids' must hold non-empty strings");
    }
    if (item.text.size() > kMaxReferenceIdBytes) {
      return Status(kInvalidBody, "a customer id is longer than 128 bytes");
    }
    out.push_back(Lower(item.text));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

// Scans a budget-like body; fields not in `known` are validated and ignored.
static simdjson::error_code ScanBudgetFields(ondemand::document& doc, uint32_t known_mask,
                                             std::array<BudgetField, kBudgetFieldCount>* fields) {
  ondemand::object object;
  if (auto err = doc.get_object().get(object)) return err;
  for (auto field : object) {
    std::string_view key;
    if (auto err = field.unescaped_key().get(key)) return err;
    ondemand::value value;
    if (auto err = field.value().get(value)) return err;
    int id = -1;
    for (int i = 0; i < kBudgetFieldCount; ++i) {
      if ((known_mask & (1u << i)) && key == kBudgetFieldNames[i]) id = i;
    }
    if (id < 0) {
      if (auto err = ValidateJsonValue(value, 2)) return err;
      continue;
    }
    BudgetField& f = (*fields)[id];
    ++f.count;
    f.items.clear();
    ondemand::json_type type;
    if (auto err = value.type().get(type)) return err;
    if (type == ondemand::json_type::array) {
      f.kind = ScalarKind::kArray;
      ondemand::array array;
      if (auto err = value.get_array().get(array)) return err;
      for (auto element : array) {
        ondemand::value v;
        if (auto err = element.get(v)) return err;
        OwnedScalar item;
        std::string_view text;
        if (auto err = ReadScalar(v, 3, &item.kind, &text)) return err;
        item.text = text;
        f.items.push_back(std::move(item));
      }
      continue;
    }
    std::string_view text;
    if (auto err = ReadScalar(value, 2, &f.kind, &text)) return err;
    f.text = text;
  }
  return CheckAtEnd(doc);
}

Result<BudgetBody> ReferenceParser::ParseBudget(BudgetBodyKind kind, std::string_view body) {
  std::array<BudgetField, kBudgetFieldCount> fields;
  uint32_t mask =
      (1u << kAmount) | (1u << kBasis) | (1u << kThresholds) | (1u << kForecastThresholds);
  if (kind == BudgetBodyKind::kBatchSet) mask |= 1u << kCustomerIds;
  {
    ondemand::document doc;
    simdjson::error_code err = impl_->Open(body, &doc);
    if (!err) err = ScanBudgetFields(doc, mask, &fields);
    if (err) return ProblemStatus(JsonProblem(err));
  }
  for (int i = 0; i < kBudgetFieldCount; ++i) {
    if (fields[i].count > 1) {
      return Status(kMalformedBody,
                    "field '" + std::string(kBudgetFieldNames[i]) + "' appears more than once");
    }
  }

  BudgetBody out;
  if (kind == BudgetBodyKind::kBatchSet) {
    Result<std::vector<std::string>> ids = IdList(fields[kCustomerIds]);
    if (!ids.ok()) return ids.status();
    out.customer_ids = std::move(ids).value();
  }

  const BudgetField& amount = fields[kAmount];
  if (amount.kind == ScalarKind::kNull) return Status(kInvalidBody, "'amount' is missing");
  if (amount.kind != ScalarKind::kNumber && amount.kind != ScalarKind::kString) {
    return Status(kInvalidBody, "'amount' must be a number or a decimal string");
  }
  DecimalError err = Decimal::Parse(amount.text, &out.budget.amount);
  if (err != DecimalError::kOk) {
    return Status(kInvalidBody, DecimalProblem("'amount'", err, Decimal::kFractionDigits));
  }

  const BudgetField& basis = fields[kBasis];
  if (basis.kind != ScalarKind::kNull) {
    std::optional<rating::Basis> b;
    if (basis.kind == ScalarKind::kString) b = rating::ParseBasis(basis.text);
    if (!b) return Status(kInvalidBody, "'basis' must be 'list' or 'billed'");
    out.budget.basis = *b;
  }
  if (fields[kThresholds].kind != ScalarKind::kNull) {
    auto list = ThresholdList("thresholds", fields[kThresholds]);
    if (!list.ok()) return list.status();
    out.budget.thresholds = std::move(list).value();
  }
  if (fields[kForecastThresholds].kind != ScalarKind::kNull) {
    auto list = ThresholdList("forecast_thresholds", fields[kForecastThresholds]);
    if (!list.ok()) return list.status();
    out.budget.forecast_thresholds = std::move(list).value();
  }
  Status st = rating::NormalizeBudget(&out.budget);
  if (!st.ok()) return Status(kInvalidBody, st.message());
  return out;
}

Result<std::vector<std::string>> ReferenceParser::ParseCustomerIds(std::string_view body) {
  std::array<BudgetField, kBudgetFieldCount> fields;
  {
    ondemand::document doc;
    simdjson::error_code err = impl_->Open(body, &doc);
    if (!err) err = ScanBudgetFields(doc, 1u << kCustomerIds, &fields);
    if (err) return ProblemStatus(JsonProblem(err));
  }
  if (fields[kCustomerIds].count > 1) {
    return Status(kMalformedBody, "field 'customer_ids' appears more than once");
  }
  return IdList(fields[kCustomerIds]);
}

}  // namespace meterd::ingest
