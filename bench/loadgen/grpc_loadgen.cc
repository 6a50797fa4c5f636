// grpc_loadgen: a closed-loop gRPC load generator for bench/reservations.py.
//
// Why C++: the benchmark machine has 2 cores shared by the inventory servers, PostgreSQL and
// the load generator. A Python caller costs ~250 us of CPU per call, a fifth of the machine's
// work per reservation, taken from the servers; a real deployment's buyers are on other
// machines. This generator speaks the same gRPC (grpc++ C-core, HTTP/2, the same request bytes)
// at a small fraction of that cost, as gRPC's own benchmarks drive Python servers from C++.
//
// It knows nothing of the proto schema: bench/reservations.py serialises the Reserve request
// with its own generated stubs and passes it as a template (hex) with the byte offsets of
// fixed-width placeholders that are rewritten per call (a counter for the order ref and the
// idempotency key, a SKU picked at random from equal-length SKUs). For reserve+commit it reads
// the reservation id from the Reserve response at a field path and sends it as the one
// length-delimited field of the commit request.
//
// Protocol on stdout: "WINDOW_START" when the warm-up ends, "WINDOW_END" when the measured
// window ends (the caller samples CPU counters at both), then one JSON line with the results
// of the operations that completed inside the window.
//
// Built by `make bench-loadgen` (pkg-config grpc++; Debian: libgrpc++-dev).

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;        // latencies and the window
using WallClock = std::chrono::system_clock;   // gRPC deadlines (grpc::TimePoint takes only this)

struct Options {
  std::vector<std::string> targets;
  int clients = 64;
  double seconds = 10.0;
  double warmup = 2.0;
  double timeout = 30.0;
  std::string reserve_method;
  std::string commit_method;  // empty: reserve only
  std::string reserve_template;
  std::vector<size_t> counter_at;
  size_t counter_width = 16;
  std::vector<size_t> sku_at;
  std::vector<std::string> skus;
  std::vector<int> id_path;  // field numbers leading to the reservation id in the response
  int commit_id_field = 1;
  std::vector<std::pair<std::string, std::string>> metadata;
};

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "grpc_loadgen: " << message << std::endl;
  std::exit(2);
}

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, separator)) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

std::string FromHex(const std::string& hex) {
  if (hex.size() % 2 != 0) Fail("template: odd number of hex digits");
  std::string bytes(hex.size() / 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  }
  return bytes;
}

Options Parse(int argc, char** argv) {
  Options options;
  std::map<std::string, std::string> values;
  for (int i = 1; i < argc; ++i) {
    std::string key = argv[i];
    if (key.rfind("--", 0) != 0 || i + 1 >= argc) Fail("bad argument " + key);
    values[key.substr(2)] = argv[++i];
  }
  auto take = [&](const std::string& key, bool required) {
    auto found = values.find(key);
    if (found == values.end()) {
      if (required) Fail("missing --" + key);
      return std::string();
    }
    std::string value = found->second;
    values.erase(found);
    return value;
  };
  options.targets = Split(take("targets", true), ',');
  options.clients = std::stoi(take("clients", true));
  options.seconds = std::stod(take("seconds", true));
  options.warmup = std::stod(take("warmup", true));
  if (auto timeout = take("timeout", false); !timeout.empty()) options.timeout = std::stod(timeout);
  options.reserve_method = take("reserve-method", true);
  options.commit_method = take("commit-method", false);
  options.reserve_template = FromHex(take("reserve-template", true));
  for (const auto& offset : Split(take("counter-at", true), ',')) options.counter_at.push_back(std::stoul(offset));
  options.counter_width = std::stoul(take("counter-width", true));
  for (const auto& offset : Split(take("sku-at", true), ',')) options.sku_at.push_back(std::stoul(offset));
  options.skus = Split(take("skus", true), ',');
  for (const auto& field : Split(take("id-path", false), '.')) options.id_path.push_back(std::stoi(field));
  if (auto field = take("commit-id-field", false); !field.empty()) options.commit_id_field = std::stoi(field);
  for (const auto& pair : Split(take("metadata", false), ',')) {
    auto equals = pair.find('=');
    if (equals == std::string::npos) Fail("metadata: expected key=value, got " + pair);
    options.metadata.emplace_back(pair.substr(0, equals), pair.substr(equals + 1));
  }
  if (!values.empty()) Fail("unknown option --" + values.begin()->first);
  if (options.targets.empty() || options.skus.empty() || options.clients <= 0) Fail("nothing to do");
  for (size_t offset : options.counter_at) {
    if (offset + options.counter_width > options.reserve_template.size()) Fail("counter offset out of range");
  }
  for (const auto& sku : options.skus) {
    if (sku.size() != options.skus.front().size()) Fail("the SKUs must all have the same length");
  }
  for (size_t offset : options.sku_at) {
    if (offset + options.skus.front().size() > options.reserve_template.size()) Fail("sku offset out of range");
  }
  if (!options.commit_method.empty() && options.id_path.empty()) Fail("--commit-method needs --id-path");
  return options;
}

bool ReadVarint(const std::string& data, size_t& at, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && at < data.size(); shift += 7) {
    uint8_t byte = static_cast<uint8_t>(data[at++]);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

void WriteVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// The bytes of the length-delimited field `number` of a serialised message (last one wins, as
// protobuf merges); false when absent or malformed.
bool FindField(const std::string& message, int number, std::string& field) {
  size_t at = 0;
  bool found = false;
  while (at < message.size()) {
    uint64_t key = 0;
    if (!ReadVarint(message, at, key)) return false;
    uint64_t length = 0;
    switch (key & 7) {
      case 0:
        if (!ReadVarint(message, at, length)) return false;
        break;
      case 1:
        at += 8;
        break;
      case 5:
        at += 4;
        break;
      case 2:
        if (!ReadVarint(message, at, length) || at + length > message.size()) return false;
        if (static_cast<int>(key >> 3) == number) {
          field = message.substr(at, length);
          found = true;
        }
        at += length;
        break;
      default:
        return false;
    }
  }
  return found && at == message.size();
}

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return bytes;
  for (const auto& slice : slices) bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return bytes;
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes.data(), bytes.size());
  return grpc::ByteBuffer(&slice, 1);
}

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// One call in flight: the caller it belongs to and what it is (a Reserve, or the Commit of one).
struct Call {
  int caller = 0;
  bool is_commit = false;
  Clock::time_point began;  // when the caller's operation (reserve, or reserve+commit) began
  grpc::ClientContext context;
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
};

class LoadGenerator {
 public:
  explicit LoadGenerator(Options options) : options_(std::move(options)), random_(std::random_device{}()) {
    for (const auto& target : options_.targets) {
      auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
      if (!channel->WaitForConnected(WallClock::now() + std::chrono::seconds(30))) Fail("cannot connect to " + target);
      stubs_.push_back(std::make_unique<grpc::GenericStub>(channel));
    }
    request_ = options_.reserve_template;
  }

  int Run() {
    const auto started = Clock::now();
    window_start_ = started + Seconds(options_.warmup);
    window_end_ = window_start_ + Seconds(options_.seconds);
    for (int caller = 0; caller < options_.clients; ++caller) Issue(caller, Clock::now());
    bool window_open = false;
    bool window_closed = false;
    while (in_flight_ > 0) {
      void* tag = nullptr;
      bool ok = false;
      auto status = queue_.AsyncNext(&tag, &ok, WallClock::now() + std::chrono::milliseconds(5));
      const auto now = Clock::now();
      if (!window_open && now >= window_start_) {
        window_open = true;
        std::cout << "WINDOW_START" << std::endl;
      }
      if (!window_closed && now >= window_end_) {
        window_closed = true;
        std::cout << "WINDOW_END" << std::endl;
      }
      if (status == grpc::CompletionQueue::GOT_EVENT) Complete(static_cast<Call*>(tag), ok, now);
      if (status == grpc::CompletionQueue::SHUTDOWN) break;
    }
    if (!window_closed) Fail("the window never closed");
    Report();
    return 0;
  }

 private:
  static Clock::duration Seconds(double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }

  void Start(Call* call, const std::string& method, const std::string& payload) {
    call->context.set_deadline(WallClock::now() + std::chrono::duration_cast<WallClock::duration>(Seconds(options_.timeout)));
    for (const auto& [key, value] : options_.metadata) call->context.AddMetadata(key, value);
    auto& stub = *stubs_[call->caller % stubs_.size()];
    call->reader = stub.PrepareUnaryCall(&call->context, method, ToBuffer(payload), &queue_);
    call->reader->StartCall();
    call->reader->Finish(&call->response, &call->status, call);
    ++in_flight_;
  }

  void Issue(int caller, Clock::time_point now) {
    if (now >= window_end_) return;  // this caller stops; in_flight_ drains to zero
    ++counter_;
    char digits[32];
    std::snprintf(digits, sizeof digits, "%0*llx", static_cast<int>(options_.counter_width),
                  static_cast<unsigned long long>(counter_));
    for (size_t offset : options_.counter_at) request_.replace(offset, options_.counter_width, digits);
    const auto& sku = options_.skus.size() == 1 ? options_.skus.front() : options_.skus[random_() % options_.skus.size()];
    for (size_t offset : options_.sku_at) request_.replace(offset, sku.size(), sku);
    auto* call = new Call;
    call->caller = caller;
    call->began = now;
    Start(call, options_.reserve_method, request_);
  }

  void Complete(Call* call, bool ok, Clock::time_point now) {
    --in_flight_;
    std::unique_ptr<Call> done(call);
    if (!ok || !call->status.ok()) {
      Finish(call->caller, call->began, now, ok ? call->status.error_message() : "completion queue failure",
             ok ? static_cast<int>(call->status.error_code()) : -1);
      return;
    }
    if (call->is_commit || options_.commit_method.empty()) {
      Finish(call->caller, call->began, now, "", 0);
      return;
    }
    std::string field = ToString(call->response);
    for (int number : options_.id_path) {
      std::string inner;
      if (!FindField(field, number, inner)) {
        Finish(call->caller, call->began, now, "no reservation id in the Reserve response", -1);
        return;
      }
      field = std::move(inner);
    }
    std::string commit;
    WriteVarint(commit, static_cast<uint64_t>(options_.commit_id_field) << 3 | 2);
    WriteVarint(commit, field.size());
    commit += field;
    auto* next = new Call;
    next->caller = call->caller;
    next->began = call->began;
    next->is_commit = true;
    Start(next, options_.commit_method, commit);
  }

  void Finish(int caller, Clock::time_point began, Clock::time_point now, const std::string& error, int code) {
    if (!error.empty() || code != 0) {
      ++errors_;
      if (first_error_.empty()) first_error_ = "status " + std::to_string(code) + ": " + error;
    } else if (now >= window_start_ && now <= window_end_) {
      latencies_us_.push_back(std::chrono::duration<double, std::micro>(now - began).count());
    }
    Issue(caller, now);
  }

  void Report() {
    std::cout << "{\"ops\": " << latencies_us_.size() << ", \"seconds\": " << options_.seconds
              << ", \"errors\": " << errors_ << ", \"first_error\": " << JsonString(first_error_)
              << ", \"latencies_us\": [";
    for (size_t i = 0; i < latencies_us_.size(); ++i) {
      if (i) std::cout << ',';
      std::cout << static_cast<int64_t>(latencies_us_[i]);
    }
    std::cout << "]}" << std::endl;
  }

  Options options_;
  std::mt19937_64 random_;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;
  grpc::CompletionQueue queue_;
  std::string request_;
  uint64_t counter_ = 0;
  int64_t in_flight_ = 0;
  Clock::time_point window_start_;
  Clock::time_point window_end_;
  std::vector<double> latencies_us_;
  int64_t errors_ = 0;
  std::string first_error_;
};

}  // namespace

int main(int argc, char** argv) {
  LoadGenerator generator(Parse(argc, argv));
  return generator.Run();
}
