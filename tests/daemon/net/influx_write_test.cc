// The InfluxDB write API's body path and answers: precision names, timestamps
// rescaled to ingest.precision, line numbers of bad lines, credentials, and
// back-pressure (503 + Retry-After while one request's lines wait for room,
// then fed in order without loss or duplicates).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "net/influx_write.h"
#include "obs/metrics.h"

namespace lstmad::daemon {
namespace {

// A line as ForEachWriteLine gave it, its text copied (the view lives only during the call).
struct Seen {
  WriteLine::Verdict verdict;
  size_t number;
  std::string text;
};

std::vector<Seen> Lines(std::string_view body, int64_t from_ns, int64_t to_ns, size_t max = 100) {
  std::vector<Seen> out;
  ParsedLine parsed;
  ForEachWriteLine(body, from_ns, to_ns, max, &parsed,
                   [&](const WriteLine& l) { out.push_back({l.verdict, l.number, std::string(l.text)}); });
  return out;
}

std::string TextOf(const Seen& l) { return l.text; }

TEST(WritePrecisionTest, NamesOfBothApis) {
  EXPECT_EQ(WritePrecisionNs(std::nullopt, WriteApi::kV1), 1);
  EXPECT_EQ(WritePrecisionNs("n", WriteApi::kV1), 1);
  EXPECT_EQ(WritePrecisionNs("u", WriteApi::kV1), 1000);
  EXPECT_EQ(WritePrecisionNs("ms", WriteApi::kV1), 1000000);
  EXPECT_EQ(WritePrecisionNs("s", WriteApi::kV2), 1000000000);
  EXPECT_EQ(WritePrecisionNs("m", WriteApi::kV1), 60000000000);
  EXPECT_EQ(WritePrecisionNs("h", WriteApi::kV1), 3600000000000);
  EXPECT_EQ(WritePrecisionNs("h", WriteApi::kV2), std::nullopt);
  EXPECT_EQ(WritePrecisionNs("n", WriteApi::kV2), std::nullopt);
  EXPECT_EQ(WritePrecisionNs("sec", WriteApi::kV1), std::nullopt);
}

TEST(ForEachWriteLineTest, RescalesTimestampsNumbersLinesAndNamesErrors) {
  const auto lines = Lines("m,t=a f=1 1700000000\r\n\n# note\nm f=oops 1\nm f=2\nm   f=3  12  \n", 1000000000, 1000);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0].verdict, WriteLine::Verdict::kPoint);
  EXPECT_EQ(TextOf(lines[0]), "m,t=a f=1 1700000000000000");  // s to us
  EXPECT_EQ(lines[1].verdict, WriteLine::Verdict::kSkipped);
  EXPECT_EQ(lines[2].verdict, WriteLine::Verdict::kSkipped);
  EXPECT_EQ(lines[3].verdict, WriteLine::Verdict::kParseError);
  EXPECT_EQ(lines[3].number, 4u);
  EXPECT_EQ(TextOf(lines[3]), "m f=oops 1");  // as sent: the sink counts it
  EXPECT_EQ(TextOf(lines[4]), "m f=2");        // no timestamp: untouched
  EXPECT_EQ(TextOf(lines[5]), "m   f=3  12000000");
}

// Found by the write_body fuzz target: a carriage return among the trailing
// blanks (which the parser accepts) was kept, and the rewritten line held two
// timestamps.
TEST(ForEachWriteLineTest, ACarriageReturnAmongTrailingBlanksIsNotKept) {
  const auto lines = Lines("t=a uge=2.5 0   \r \nm f=1 7\r\t\n", 1000000000, 1);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].verdict, WriteLine::Verdict::kPoint);
  EXPECT_EQ(TextOf(lines[0]), "t=a uge=2.5 0");
  EXPECT_EQ(lines[1].verdict, WriteLine::Verdict::kPoint);
  EXPECT_EQ(TextOf(lines[1]), "m f=1 7000000000");
}

TEST(ForEachWriteLineTest, TruncatesToACoarserIngestUnitAndRefusesOverflow) {
  const auto finer = Lines("m f=1 1700000000999", 1000000, 1000000000);  // ms to s
  EXPECT_EQ(TextOf(finer[0]), "m f=1 1700000000");
  const auto overflow = Lines("m f=1 9000000000000\nm f=1 1", 3600000000000, 1);  // h to ns
  EXPECT_EQ(overflow[0].verdict, WriteLine::Verdict::kOutOfRange);
  EXPECT_EQ(overflow[1].verdict, WriteLine::Verdict::kPoint);
  EXPECT_EQ(TextOf(overflow[1]), "m f=1 3600000000000");
  const auto long_line = Lines("m f=1\nm f=" + std::string(200, '1') + "\n", 1, 1);
  EXPECT_EQ(long_line[1].verdict, WriteLine::Verdict::kTooLong);
}

// A sink that records lines and has no room when told.
class FakeSink : public LineSink {
 public:
  void HandleLine(std::string_view line, const std::string&, Stalled* stalled) override {
    if (full && stalled != nullptr) {
      held = std::string(line);
      on_room = stalled->on_room;
      stalled->retry = [this](bool) {
        if (full) return false;
        lines.push_back(held);
        return true;
      };
      return;
    }
    lines.emplace_back(line);
  }
  void LineTooLong(const std::string&) override { ++too_long; }

  bool full = false;
  std::string held;
  std::function<void()> on_room;
  std::vector<std::string> lines;
  int too_long = 0;
};

class InfluxWriteTest : public ::testing::Test {
 protected:
  HttpRequest Post(std::string body, std::string query = "db=x", std::string authorization = "Token t0k") {
    HttpRequest r;
    r.method = "POST";
    r.path = "/write";
    r.query = std::move(query);
    r.body = std::move(body);
    if (!authorization.empty()) r.headers.emplace_back("authorization", std::move(authorization));
    return r;
  }
  config::IngestSettings Settings() {
    config::IngestSettings s;
    s.http.tokens = {"t0k"};
    return s;
  }

  asio::io_context io_;
  FakeSink sink_;
  Metrics metrics_{"test"};
  InfluxWrite write_{io_, &sink_, &metrics_, Settings(), 1024};
};

TEST_F(InfluxWriteTest, AnswersLikeInfluxDb) {
  EXPECT_EQ(write_.Write(Post("m f=1 5", "db=x&precision=s"), WriteApi::kV1).status, 204);
  EXPECT_EQ(sink_.lines, std::vector<std::string>{"m f=1 5000000000"});
  const HttpReply bad = write_.Write(Post("m f=2\nm f=\nm f=3"), WriteApi::kV1);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body.rfind("{\"error\":\"partial write: line 2: ", 0), 0u) << bad.body;
  EXPECT_EQ(sink_.lines.size(), 4u);  // the good lines and the bad one (the sink counts it)
  const HttpReply v2 = write_.Write(Post("m f=", "bucket=b"), WriteApi::kV2);
  EXPECT_EQ(v2.body.rfind("{\"code\":\"invalid\",\"message\":\"partial write: line 1: ", 0), 0u) << v2.body;
  EXPECT_EQ(write_.Write(Post("m f=1", "org=o"), WriteApi::kV2).status, 400);  // no bucket
  EXPECT_EQ(write_.Write(Post("m f=1", "db=x&precision=y"), WriteApi::kV1).status, 400);
}

TEST_F(InfluxWriteTest, AcceptsTheTokenInEachOfItsForms) {
  EXPECT_EQ(write_.Write(Post("m f=1", "db=x", "Token nope"), WriteApi::kV1).status, 401);
  EXPECT_EQ(write_.Write(Post("m f=1", "db=x", ""), WriteApi::kV1).status, 401);
  EXPECT_EQ(write_.Write(Post("m f=1", "db=x&u=me&p=t0k", ""), WriteApi::kV1).status, 204);
  EXPECT_EQ(write_.Write(Post("m f=1", "bucket=b&p=t0k", ""), WriteApi::kV2).status, 401);  // v2: no `p`
  EXPECT_EQ(write_.Write(Post("m f=1", "db=x", "Basic bWU6dDBr"), WriteApi::kV1).status, 204);  // me:t0k
  EXPECT_EQ(write_.Write(Post("m f=1", "db=x", "Basic bWU6dDBq"), WriteApi::kV1).status, 401);  // me:t0j
  EXPECT_EQ(sink_.lines.size(), 2u);
}

TEST_F(InfluxWriteTest, HoldsTheRestOfARequestAndAnswers503UntilRoom) {
  sink_.full = true;
  // The first line stalls; the rest is held, and the request is answered:
  // every line of it will go in.
  EXPECT_EQ(write_.Write(Post("m f=1\nm f=2\nm f=3"), WriteApi::kV1).status, 204);
  EXPECT_TRUE(sink_.lines.empty());
  const HttpReply busy = write_.Write(Post("m f=4"), WriteApi::kV1);
  EXPECT_EQ(busy.status, 503);
  EXPECT_NE(std::find(busy.headers.begin(), busy.headers.end(), std::pair<std::string, std::string>{"Retry-After", "1"}),
            busy.headers.end());
  sink_.full = false;
  sink_.on_room();  // posts the resumption to the io thread
  io_.run();
  EXPECT_EQ(sink_.lines, (std::vector<std::string>{"m f=1", "m f=2", "m f=3"}));
  EXPECT_EQ(write_.Write(Post("m f=4"), WriteApi::kV1).status, 204);
  EXPECT_EQ(sink_.lines.back(), "m f=4");
}

// Records the answer a deferred write gets.
class FakeResponder : public HttpResponder {
 public:
  bool open() const override { return is_open; }
  void Send(HttpReply reply) override { replies.push_back(reply.status); }
  bool is_open = true;
  std::vector<int> replies;
};

TEST_F(InfluxWriteTest, LaterRequestsWaitForRoomUnansweredThenGoInInOrder) {
  sink_.full = true;
  auto first = std::make_shared<FakeResponder>();
  write_.WriteWhenRoom(Post("m f=1\nm f=2"), WriteApi::kV1, first);
  EXPECT_EQ(first->replies, std::vector<int>{204});  // its lines are all taken (held)
  std::vector<std::shared_ptr<FakeResponder>> waiting;
  for (size_t i = 0; i < InfluxWrite::kMaxWaiting + 1; ++i) {
    waiting.push_back(std::make_shared<FakeResponder>());
    write_.WriteWhenRoom(Post("m f=" + std::to_string(3 + i)), WriteApi::kV1, waiting.back());
  }
  for (size_t i = 0; i < InfluxWrite::kMaxWaiting; ++i) EXPECT_TRUE(waiting[i]->replies.empty()) << i;
  EXPECT_EQ(waiting.back()->replies, std::vector<int>{503});  // beyond the bound: 503 at once
  auto wrong = std::make_shared<FakeResponder>();
  write_.WriteWhenRoom(Post("m f=9", "db=x", "Token nope"), WriteApi::kV1, wrong);
  EXPECT_EQ(wrong->replies, std::vector<int>{401});  // credentials do not wait
  waiting[1]->is_open = false;  // its client gave up: dropped unread
  sink_.full = false;
  sink_.on_room();
  io_.run();
  EXPECT_EQ(sink_.lines, (std::vector<std::string>{"m f=1", "m f=2", "m f=3", "m f=5", "m f=6"}));
  EXPECT_EQ(waiting[0]->replies, std::vector<int>{204});
  EXPECT_TRUE(waiting[1]->replies.empty());
  EXPECT_EQ(waiting[3]->replies, std::vector<int>{204});
}

TEST_F(InfluxWriteTest, FinishFeedsWhatIsHeld) {
  sink_.full = true;
  EXPECT_EQ(write_.Write(Post("m f=1\nm f=2"), WriteApi::kV1).status, 204);
  sink_.full = false;
  write_.Finish();
  EXPECT_EQ(sink_.lines, (std::vector<std::string>{"m f=1", "m f=2"}));
}

}  // namespace
}  // namespace lstmad::daemon
