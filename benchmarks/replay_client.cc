// The engine's side of the Analyzer protocol without Python's per-call cost: replays recorded requests
// against a running pack, one call at a time and each answered before the next, as the engine's step
// generator sends them, and parses every response as the engine does.
//
// bench_policy_throughput.py builds and runs it (C++ gRPC from Debian's libgrpc++-dev; the CLI's own client
// is Go). Requests come prebuilt, as the Python client's do, so neither client pays for building them.
//
// Usage: replay_client ADDRESS DESCRIPTORS REQUESTS
//   DESCRIPTORS  a serialized FileDescriptorSet holding pulumirpc's analyzer.proto and what it imports
//   REQUESTS     records of [method: 1 byte, 0 Remediate, 1 Analyze, 2 AnalyzeStack]
//                [length: 4 bytes, little-endian][serialized request]
// Prints one line: wall seconds, client CPU seconds, diagnostics received, remediations received.
// Exits 1 on any failed call: a benchmark of failing calls measures nothing.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Request {
  int method;
  std::string payload;
};

const char* const kMethods[] = {"/pulumirpc.Analyzer/Remediate", "/pulumirpc.Analyzer/Analyze",
                                "/pulumirpc.Analyzer/AnalyzeStack"};
const char* const kResponseTypes[] = {"pulumirpc.RemediateResponse", "pulumirpc.AnalyzeResponse",
                                      "pulumirpc.AnalyzeResponse"};
constexpr int kDeadlineSeconds = 300;

std::string ReadFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<Request> ReadRequests(const std::string& data) {
  std::vector<Request> requests;
  size_t at = 0;
  while (at + 5 <= data.size()) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data() + at);
    uint32_t length = bytes[1] | (bytes[2] << 8) | (bytes[3] << 16) | (uint32_t(bytes[4]) << 24);
    requests.push_back({bytes[0], data.substr(at + 5, length)});
    at += 5 + length;
  }
  return requests;
}

double CpuSeconds() { return double(std::clock()) / CLOCKS_PER_SEC; }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: replay_client ADDRESS DESCRIPTORS REQUESTS\n";
    return 2;
  }
  google::protobuf::FileDescriptorSet files;
  if (!files.ParseFromString(ReadFile(argv[2]))) {
    std::cerr << "cannot parse the descriptor set " << argv[2] << "\n";
    return 2;
  }
  google::protobuf::DescriptorPool pool;
  for (const auto& file : files.file()) {  // in dependency order, as the benchmark writes them
    if (pool.BuildFile(file) == nullptr) {
      std::cerr << "cannot build " << file.name() << "\n";
      return 2;
    }
  }
  google::protobuf::DynamicMessageFactory factory(&pool);
  const google::protobuf::Message* prototypes[3];
  for (int method = 0; method < 3; ++method) {
    prototypes[method] = factory.GetPrototype(pool.FindMessageTypeByName(kResponseTypes[method]));
  }
  const auto* diagnostics = pool.FindMessageTypeByName("pulumirpc.AnalyzeResponse")->FindFieldByName("diagnostics");
  const auto* remediations =
      pool.FindMessageTypeByName("pulumirpc.RemediateResponse")->FindFieldByName("remediations");
  std::vector<Request> requests = ReadRequests(ReadFile(argv[3]));

  auto channel = grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
    std::cerr << "cannot connect to " << argv[1] << "\n";
    return 1;
  }
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  long diagnostic_count = 0, remediation_count = 0;

  const double cpu_started = CpuSeconds();
  const auto started = std::chrono::steady_clock::now();
  for (const Request& request : requests) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(kDeadlineSeconds));
    grpc::Slice slice(request.payload);
    grpc::ByteBuffer sent(&slice, 1), received;
    grpc::Status status;
    auto call = stub.PrepareUnaryCall(&context, kMethods[request.method], sent, &queue);
    call->StartCall();
    call->Finish(&received, &status, &context);
    void* tag;
    bool ok;
    if (!queue.Next(&tag, &ok) || !ok || !status.ok()) {
      std::cerr << kMethods[request.method] << " failed: " << status.error_message() << "\n";
      return 1;
    }
    grpc::Slice flat;
    std::unique_ptr<google::protobuf::Message> response(prototypes[request.method]->New());
    if (!received.DumpToSingleSlice(&flat).ok() ||
        !response->ParseFromArray(flat.begin(), static_cast<int>(flat.size()))) {
      std::cerr << kMethods[request.method] << " sent a response that does not parse\n";
      return 1;
    }
    const auto* reflection = response->GetReflection();
    if (request.method == 0) {
      remediation_count += reflection->FieldSize(*response, remediations);
    } else {
      diagnostic_count += reflection->FieldSize(*response, diagnostics);
    }
  }
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - started;
  std::cout << wall.count() << " " << CpuSeconds() - cpu_started << " " << diagnostic_count << " "
            << remediation_count << "\n";
  return 0;
}
