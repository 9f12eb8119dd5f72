// Settings resolution, argument parsing, URLs and the table printer.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "tests/tools/meterctl/test_support.h"
#include "tools/meterctl/args.h"
#include "tools/meterctl/client_config.h"
#include "tools/meterctl/http_client.h"
#include "tools/meterctl/table.h"

namespace meterd::meterctl {
namespace {

using testing::TempDir;
using testing::WriteFile;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(MeterctlSettings, DefaultsToLoopbackWithoutAToken) {
  TempDir home;
  Result<ClientSettings> s = ResolveSettings({}, FakeEnv({{"HOME", home.path()}}));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->url, "http://127.0.0.1:8787");
  EXPECT_EQ(s->token, "");
  EXPECT_EQ(s->timeout, std::chrono::seconds(60));
  EXPECT_EQ(s->config_file, "");
}

TEST(MeterctlSettings, FlagsBeatEnvironmentWhichBeatsTheConfigFile) {
  TempDir home;
  std::filesystem::create_directories(home.Join(".config"));
  WriteFile(home.Join(".config/meterctl.toml"),
            "url = \"http://file:1\"\ntoken = \"from-file\"\ntimeout_seconds = 7\n");
  WriteFile(home.Join("env.token"), "  from-env-file \n second line ignored\n");

  Result<ClientSettings> file_only = ResolveSettings({}, FakeEnv({{"HOME", home.path()}}));
  ASSERT_TRUE(file_only.ok()) << file_only.status().ToString();
  EXPECT_EQ(file_only->url, "http://file:1");
  EXPECT_EQ(file_only->token, "from-file");
  EXPECT_EQ(file_only->timeout, std::chrono::seconds(7));
  EXPECT_EQ(file_only->config_file, home.Join(".config/meterctl.toml"));

  auto env = FakeEnv({{"HOME", home.path()},
                      {"METERCTL_URL", "http://env:2"},
                      {"METERCTL_TOKEN_FILE", home.Join("env.token")}});
  Result<ClientSettings> with_env = ResolveSettings({}, env);
  ASSERT_TRUE(with_env.ok()) << with_env.status().ToString();
  EXPECT_EQ(with_env->url, "http://env:2");
  EXPECT_EQ(with_env->token, "from-env-file");
  EXPECT_EQ(with_env->timeout, std::chrono::seconds(7));

  SettingsFlags flags;
  flags.url = "http://flag:3";
  flags.token = "from-flag";
  flags.timeout_seconds = "3";
  Result<ClientSettings> with_flags = ResolveSettings(flags, env);
  ASSERT_TRUE(with_flags.ok());
  EXPECT_EQ(with_flags->url, "http://flag:3");
  EXPECT_EQ(with_flags->token, "from-flag");
  EXPECT_EQ(with_flags->token_source, "--token");
  EXPECT_EQ(with_flags->timeout, std::chrono::seconds(3));
}

TEST(MeterctlSettings, ResolvesARelativeTokenFileAgainstTheConfigFilesFolder) {
  TempDir dir;
  WriteFile(dir.Join("ctl.toml"), "token_file = \"secrets/admin.token\"\n");
  std::filesystem::create_directories(dir.Join("secrets"));
  WriteFile(dir.Join("secrets/admin.token"), "tok123\n");
  Result<ClientSettings> s =
      ResolveSettings({}, FakeEnv({{"METERCTL_CONFIG", dir.Join("ctl.toml")}}));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->token, "tok123");
}

TEST(MeterctlSettings, RefusesUnknownKeysMissingExplicitFilesAndBadTimeouts) {
  TempDir dir;
  WriteFile(dir.Join("typo.toml"), "urll = \"http://x\"\n");
  Result<ClientSettings> typo =
      ResolveSettings({}, FakeEnv({{"METERCTL_CONFIG", dir.Join("typo.toml")}}));
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("unknown key \"urll\""), std::string::npos);

  SettingsFlags missing;
  missing.config_file = dir.Join("absent.toml");
  EXPECT_FALSE(ResolveSettings(missing, FakeEnv({})).ok());

  WriteFile(dir.Join("broken.toml"), "url = \n");
  EXPECT_FALSE(ResolveSettings({}, FakeEnv({{"METERCTL_CONFIG", dir.Join("broken.toml")}})).ok());

  for (const char* t : {"0", "-1", "1.5", "abc", ""}) {
    SettingsFlags f;
    f.timeout_seconds = t;
    EXPECT_FALSE(ResolveSettings(f, FakeEnv({})).ok()) << t;
  }
  SettingsFlags empty_token_file;
  WriteFile(dir.Join("empty.token"), "\n");
  empty_token_file.token_file = dir.Join("empty.token");
  EXPECT_FALSE(ResolveSettings(empty_token_file, FakeEnv({})).ok());
}

TEST(MeterctlUrl, ParsesHostPortPrefixAndIpv6) {
  Result<Endpoint> a = ParseUrl("http://127.0.0.1:8787");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, "8787");
  EXPECT_EQ(a->base_path, "");
  Result<Endpoint> b = ParseUrl("http://[::1]:9000/meterd/");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, "9000");
  EXPECT_EQ(b->base_path, "/meterd");
  Result<Endpoint> c = ParseUrl("http://meterd.internal");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, "80");
  for (const char* bad : {"https://x", "ftp://x", "127.0.0.1:8787", "http://:80", "http://x:0",
                          "http://x:70000", "http://x:ab", "http://[::1"}) {
    EXPECT_FALSE(ParseUrl(bad).ok()) << bad;
  }
  EXPECT_EQ(UrlEncode("a b/c?d=é"), "a%20b%2Fc%3Fd%3D%C3%A9");
}

TEST(MeterctlArgs, ParsesOptionsAnywhereAndChecksThem) {
  const OptionSpec month{"month", "YYYY-MM", ""};
  const OptionSpec json{"json", "", ""};
  const OptionSpec customer{"customer", "ID", "", true};
  const OptionSpec help{"help", "", ""};
  const OptionSpec* specs[] = {&month, &json, &customer, &help};
  std::vector<std::string> args{"c1",     "--month",      "2026-11",
                                "--json", "--customer=a", "--customer",
                                "b",      "--",           "--not-an-option"};
  Result<ParsedArgs> p = ParseArgs(args, specs);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->positionals(), (std::vector<std::string>{"c1", "--not-an-option"}));
  EXPECT_EQ(p->Get("month"), "2026-11");
  EXPECT_TRUE(p->Has("json"));
  EXPECT_EQ(p->GetAll("customer"), (std::vector<std::string>{"a", "b"}));
  std::vector<std::string> h{"-h"};
  EXPECT_TRUE(ParseArgs(h, specs)->Has("help"));

  for (std::vector<std::string> bad :
       {std::vector<std::string>{"--nope"}, std::vector<std::string>{"--month"},
        std::vector<std::string>{"--json=1"},
        std::vector<std::string>{"--month", "a", "--month", "b"}, std::vector<std::string>{"-x"}}) {
    EXPECT_FALSE(ParseArgs(bad, specs).ok()) << bad[0];
  }
}

TEST(MeterctlTable, AlignsTextLeftAndNumbersRightCountingCodePoints) {
  Table t({{"name"}, {"amount", Table::Align::kRight}});
  t.AddRow({"Åre", "1.500000000"});
  t.AddRow({"Oslo Fisk", "12.000000000"});
  EXPECT_EQ(t.Render(),
            "name             amount\n"
            "---------  ------------\n"
            "Åre         1.500000000\n"
            "Oslo Fisk  12.000000000\n");
}

}  // namespace
}  // namespace meterd::meterctl
