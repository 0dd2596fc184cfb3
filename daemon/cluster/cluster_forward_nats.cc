// The ClusterForwarder's Publish over a real NATS connection: a round of
// messages of distinct streams (or partitions) is published pipelined with js_PublishAsync and
// each line's fate collected: stored (acknowledged), refused (the error
// handler names it by its Nats-Msg-Id), or unanswered within the wait (left
// pending, taken back with js_PublishAsyncGetPendingList).
#include <mutex>
#include <unordered_map>

#include <nats/nats.h>

#include "cluster/cluster_forwarder.h"
#include "cluster/cluster_nats.h"

namespace lstmad::daemon {
namespace {

class JetStreamBatchPublisher {
 public:
  explicit JetStreamBatchPublisher(NatsLink* link) : link_(link) {}

  core::Status Init() {
    jsOptions options;
    jsOptions_Init(&options);
    options.PublishAsync.ErrHandler = &JetStreamBatchPublisher::OnError;
    options.PublishAsync.ErrHandlerClosure = this;
    // A batch never stalls js_PublishAsync: it is the most ever pending.
    options.PublishAsync.MaxPending = static_cast<int64_t>(ClusterForwarder::kMaxBatch);
    jsCtx* js = nullptr;
    if (natsStatus s = natsConnection_JetStream(&js, link_->connection(), &options); s != NATS_OK) {
      return core::Status::Error(NatsError("JetStream context for forwarding", s));
    }
    js_.reset(js);
    return core::Status::Ok();
  }

  std::vector<core::Status> Publish(const std::vector<const ForwardItem*>& items, std::chrono::milliseconds wait) {
    {
      std::lock_guard lock(mu_);
      errors_.clear();
    }
    std::vector<core::Status> out(items.size(), core::Status::Ok());
    std::unordered_map<std::string_view, size_t> by_id;
    std::vector<std::string> streams(items.size());  // outlive the publishes' options
    for (size_t i = 0; i < items.size(); ++i) {
      const ForwardItem& item = *items[i];
      by_id.emplace(item.msg_id, i);
      jsPubOptions options;
      jsPubOptions_Init(&options);
      options.MsgId = item.msg_id.c_str();
      // A subject the servers do not map into our stream fails instead of
      // being stored elsewhere.
      streams[i] = link_->names().StreamOf(item.partition);
      options.ExpectStream = streams[i].c_str();
      // Each message's own deadline: past it the library reports a timeout
      // through the error handler.
      options.MaxWait = wait.count();
      const natsStatus s = js_PublishAsync(js_.get(), item.subject.c_str(), item.payload.data(),
                                           static_cast<int>(item.payload.size()), &options);
      if (s != NATS_OK) out[i] = core::Status::Error(NatsError("publish to " + item.subject, s));
    }
    jsPubOptions complete;
    jsPubOptions_Init(&complete);
    complete.MaxWait = wait.count() + kCompleteMarginMs;
    if (js_PublishAsyncComplete(js_.get(), &complete) == NATS_TIMEOUT) TakeBackPending(by_id, &out);
    std::lock_guard lock(mu_);
    for (const auto& [id, error] : errors_) {
      if (auto it = by_id.find(id); it != by_id.end()) out[it->second] = core::Status::Error(error);
    }
    return out;
  }

 private:
  // The per-message timeouts should have answered everything by then.
  static constexpr int64_t kCompleteMarginMs = 1000;

  static void OnError(jsCtx*, jsPubAckErr* pae, void* closure) {
    auto* self = static_cast<JetStreamBatchPublisher*>(closure);
    const char* id = nullptr;
    if (pae->Msg == nullptr || natsMsgHeader_Get(pae->Msg, "Nats-Msg-Id", &id) != NATS_OK || id == nullptr) return;
    const std::string status = natsStatus_GetText(pae->Err);
    std::string error = "nats: publish: " + status;
    if (pae->ErrCode != 0) error += " (JetStream error " + std::to_string(static_cast<int>(pae->ErrCode)) + ")";
    if (pae->ErrText != nullptr && *pae->ErrText != '\0' && status != pae->ErrText) {
      error += " (" + std::string(pae->ErrText) + ")";
    }
    std::lock_guard lock(self->mu_);
    self->errors_[id] = std::move(error);
  }

  void TakeBackPending(const std::unordered_map<std::string_view, size_t>& by_id, std::vector<core::Status>* out) {
    natsMsgList pending{};
    if (js_PublishAsyncGetPendingList(&pending, js_.get()) != NATS_OK) return;
    for (int i = 0; i < pending.Count; ++i) {
      const char* id = nullptr;
      if (natsMsgHeader_Get(pending.Msgs[i], "Nats-Msg-Id", &id) != NATS_OK || id == nullptr) continue;
      if (auto it = by_id.find(id); it != by_id.end()) {
        (*out)[it->second] = core::Status::Error("nats: publish: no acknowledgement in time");
      }
    }
    natsMsgList_Destroy(&pending);
  }

  NatsLink* link_;
  NatsPtr<jsCtx> js_;
  std::mutex mu_;
  std::unordered_map<std::string, std::string> errors_;  // by Msg-Id, this attempt's
};

}  // namespace

core::Result<ClusterForwarder::Publish> NatsPublisher(NatsLink* link) {
  auto publisher = std::make_shared<JetStreamBatchPublisher>(link);
  LSTMAD_RETURN_IF_ERROR(publisher->Init());
  return ClusterForwarder::Publish(
      [publisher](const std::vector<const ForwardItem*>& items, std::chrono::milliseconds wait) {
        return publisher->Publish(items, wait);
      });
}

}  // namespace lstmad::daemon
