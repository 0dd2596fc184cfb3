#include "net/mqtt_subscriber.h"

#include <mosquitto.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <array>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>

#include "ingest/mqtt_payload.h"
#include "lstmad/core/text.h"
#include "obs/logging.h"

namespace lstmad::daemon {

// Payloads above this are refused unread: a message carries a few lines
// (brokers allow up to 256 MB by default).
constexpr size_t kMaxPayloadBytes = 1 << 20;
// What the messages waiting for the io thread may hold in all, whatever
// mqtt.max_pending says: 64 messages of the largest size.
constexpr size_t kMaxPendingBytes = 64 * kMaxPayloadBytes;

// A message's lines waiting for the io thread.
struct PendingMessage {
  std::vector<std::string> lines;
  std::string peer;  // "mqtt:<topic>", for the sink's logs
  size_t bytes = 0;  // the payload's size, counted against kMaxPendingBytes
};

struct MqttSubscriber::Shared {
  std::mutex mu;
  std::condition_variable room;
  // Messages received and not yet handed to the sink, oldest first; their
  // count and payload bytes include those being handed over now.
  std::deque<PendingMessage> queue;
  int pending = 0;
  size_t pending_bytes = 0;
  bool drain_posted = false;  // a drain is queued on the io thread
  bool stopping = false;
  // Held while lines go to the sink, which is null once stopped.
  std::mutex sink_mu;
  LineSink* sink = nullptr;
  size_t max_line_bytes = 0;
  prometheus::Gauge* connected;
  prometheus::Counter* connections;
  prometheus::Counter* accepted;
  prometheus::Counter* refused;
  std::array<prometheus::Counter*, 7> refused_by_reason{};  // by MqttRefusal
};

namespace {

void InitLibrary() {
  static const int once = [] { return mosquitto_lib_init(); }();
  (void)once;
}

unsigned int WholeSeconds(double s) { return static_cast<unsigned int>(std::max(1.0, std::ceil(s))); }

}  // namespace

// Hands the queued messages to the sink, oldest first, as one batch; on the
// io thread (the sink's). The room is given back once the batch is handed
// over, so at most max_pending messages are held at any time. Returns whether
// more arrived meanwhile.
bool MqttSubscriber::DrainBatch(Shared* shared) {
  std::deque<PendingMessage> batch;
  {
    std::lock_guard<std::mutex> lock(shared->mu);
    if (shared->queue.empty()) {
      shared->drain_posted = false;
      return false;
    }
    batch.swap(shared->queue);
  }
  size_t bytes = 0;
  {
    std::lock_guard<std::mutex> lock(shared->sink_mu);
    for (const PendingMessage& message : batch) {
      bytes += message.bytes;
      if (shared->sink == nullptr) continue;
      for (const std::string& line : message.lines) {
        if (line.size() > shared->max_line_bytes) {
          shared->sink->LineTooLong(message.peer);
        } else {
          shared->sink->HandleLine(line, message.peer);
        }
      }
    }
  }
  bool more = false;
  {
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->pending -= static_cast<int>(batch.size());
    shared->pending_bytes -= bytes;
    more = !shared->queue.empty();
    if (!more) shared->drain_posted = false;
  }
  shared->room.notify_all();
  return more;
}

// One batch per turn of the io thread: what arrived meanwhile waits behind
// whatever else is queued there (a signal, a TCP read, a timer), so a broker
// that delivers as fast as lstmad scores cannot starve them.
void MqttSubscriber::PostDrain(asio::io_context& io, std::shared_ptr<Shared> shared) {
  asio::post(io, [&io, shared = std::move(shared)]() mutable {
    if (DrainBatch(shared.get())) PostDrain(io, std::move(shared));
  });
}

MqttSubscriber::MqttSubscriber(asio::io_context& io, config::MqttSettings settings,
                               config::TimestampPrecision precision, size_t max_line_bytes, LineSink* sink,
                               Metrics* metrics)
    : io_(io),
      settings_(std::move(settings)),
      precision_(precision),
      shared_(std::make_shared<Shared>()) {
  shared_->sink = sink;
  shared_->max_line_bytes = max_line_bytes;
  auto& registry = *metrics->registry();
  shared_->connected =
      &prometheus::BuildGauge()
           .Name("lstmad_mqtt_connected")
           .Help("1 while lstmad is connected to the MQTT broker with every subscription acknowledged")
           .Register(registry)
           .Add({});
  shared_->connections = &prometheus::BuildCounter()
                              .Name("lstmad_mqtt_connections_total")
                              .Help("Successful connections to the MQTT broker (reconnects included)")
                              .Register(registry)
                              .Add({});
  auto& messages = prometheus::BuildCounter()
                       .Name("lstmad_mqtt_messages_total")
                       .Help("MQTT messages received, by outcome (refused: not turned into lines)")
                       .Register(registry);
  shared_->accepted = &messages.Add({{"outcome", "accepted"}});
  shared_->refused = &messages.Add({{"outcome", "refused"}});
  auto& refusals = prometheus::BuildCounter()
                       .Name("lstmad_mqtt_refused_total")
                       .Help("MQTT messages refused before line validation, by reason (topic, not_json, json_shape, "
                             "empty, too_large, not_value); lines that parse badly count in lstmad_samples_rejected_total")
                       .Register(registry);
  for (const MqttRefusal reason : {MqttRefusal::kTopic, MqttRefusal::kNotJson, MqttRefusal::kJsonShape,
                                   MqttRefusal::kEmpty, MqttRefusal::kTooLarge, MqttRefusal::kNotValue}) {
    shared_->refused_by_reason[static_cast<size_t>(reason)] = &refusals.Add({{"reason", MqttRefusalLabel(reason)}});
  }
}

MqttSubscriber::~MqttSubscriber() {
  Stop();
  if (client_ != nullptr) mosquitto_destroy(client_);
}

core::Status MqttSubscriber::Start() {
  InitLibrary();
  const char* id = settings_.client_id.empty() ? nullptr : settings_.client_id.c_str();
  client_ = mosquitto_new(id, settings_.clean_session, this);
  if (client_ == nullptr) return core::Status::Error("mqtt: cannot create the client");
  mosquitto_int_option(client_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  if (!settings_.username.empty()) {
    std::string password;
    if (!settings_.password_file.empty()) {
      std::ifstream in(settings_.password_file);
      if (!in || !std::getline(in, password)) {
        return core::Status::Error("mqtt.password_file: cannot read " + core::Quote(settings_.password_file));
      }
    }
    if (mosquitto_username_pw_set(client_, settings_.username.c_str(),
                                  settings_.password_file.empty() ? nullptr : password.c_str()) != MOSQ_ERR_SUCCESS) {
      return core::Status::Error("mqtt: cannot set the username");
    }
  }
  if (!settings_.tls_ca.empty()) {
    const int rc = mosquitto_tls_set(client_, settings_.tls_ca.c_str(), nullptr,
                                     settings_.tls_cert.empty() ? nullptr : settings_.tls_cert.c_str(),
                                     settings_.tls_key.empty() ? nullptr : settings_.tls_key.c_str(), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) return core::Status::Error(std::string("mqtt.tls: ") + mosquitto_strerror(rc));
  }
  mosquitto_reconnect_delay_set(client_, WholeSeconds(settings_.reconnect_min_s),
                                WholeSeconds(settings_.reconnect_max_s), true);
  mosquitto_connect_callback_set(client_, &MqttSubscriber::OnConnect);
  mosquitto_disconnect_callback_set(client_, &MqttSubscriber::OnDisconnect);
  mosquitto_message_callback_set(client_, &MqttSubscriber::OnMessage);
  mosquitto_subscribe_callback_set(client_, &MqttSubscriber::OnSubscribe);
  const int rc = mosquitto_connect_async(client_, settings_.broker.host.c_str(), settings_.broker.port,
                                         static_cast<int>(settings_.keepalive_s));
  if (rc != MOSQ_ERR_SUCCESS) {
    // Retried by the network thread with the backoff: a broker may start later.
    Log(LogLevel::kWarn, "mqtt: broker not reachable yet; retrying",
        {Field("broker", settings_.broker.ToString()), Field("error", std::string(mosquitto_strerror(rc)))});
  }
  const int loop = mosquitto_loop_start(client_);
  if (loop != MOSQ_ERR_SUCCESS) return core::Status::Error(std::string("mqtt: ") + mosquitto_strerror(loop));
  started_ = true;
  return core::Status::Ok();
}

void MqttSubscriber::Stop() {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->stopping = true;
  }
  shared_->room.notify_all();
  if (!started_) return;
  started_ = false;
  mosquitto_disconnect(client_);
  mosquitto_loop_stop(client_, false);
  // No message comes any more: hand what was received (and acknowledged to
  // the broker) to the sink now, rather than drop it with the io thread's
  // queue at shutdown. Stop runs on the io thread, as the drains do.
  while (DrainBatch(shared_.get())) {
  }
  std::lock_guard<std::mutex> lock(shared_->sink_mu);
  shared_->sink = nullptr;
  shared_->connected->Set(0);
}

void MqttSubscriber::OnConnect(mosquitto* client, void* self_ptr, int rc) {
  auto* self = static_cast<MqttSubscriber*>(self_ptr);
  if (rc != 0) {
    Log(LogLevel::kError, "mqtt: the broker refused the connection",
        {Field("broker", self->settings_.broker.ToString()), Field("reason", std::string(mosquitto_connack_string(rc)))});
    return;
  }
  self->shared_->connections->Increment();
  // Every connection subscribes again: a clean session starts with none,
  // and a kept one is not harmed by subscribing twice. lstmad_mqtt_connected
  // waits for the broker's SUBACKs (OnSubscribe): until then a message
  // published on a clean session's topics is not delivered.
  self->awaiting_suback_.clear();
  for (size_t i = 0; i < self->settings_.subscriptions.size(); ++i) {
    const config::MqttSubscription& s = self->settings_.subscriptions[i];
    int mid = 0;
    const int sub = mosquitto_subscribe(client, &mid, s.filter.c_str(), self->settings_.qos);
    if (sub == MOSQ_ERR_SUCCESS) {
      self->awaiting_suback_[mid] = i;
    } else {
      Log(LogLevel::kError, "mqtt: cannot subscribe",
          {Field("topic", s.filter), Field("error", std::string(mosquitto_strerror(sub)))});
    }
  }
  Log(LogLevel::kInfo, "mqtt: connected",
      {Field("broker", self->settings_.broker.ToString()), Field("subscriptions", self->settings_.subscriptions.size())});
  if (self->awaiting_suback_.empty()) self->shared_->connected->Set(1);
}

void MqttSubscriber::OnSubscribe(mosquitto*, void* self_ptr, int mid, int qos_count, const int* granted_qos) {
  auto* self = static_cast<MqttSubscriber*>(self_ptr);
  auto it = self->awaiting_suback_.find(mid);
  if (it == self->awaiting_suback_.end()) return;  // of an earlier connection
  const std::string& topic = self->settings_.subscriptions[it->second].filter;
  self->awaiting_suback_.erase(it);
  // One topic per SUBSCRIBE. 0x80: refused (an ACL, a bad filter). A lower
  // QoS than asked is taken: with QoS 0 a persistent session keeps nothing
  // for lstmad while it is away, and a clean stop may lose what was in flight.
  const int granted = qos_count > 0 ? granted_qos[0] : 0x80;
  if (granted == 0x80) {
    Log(LogLevel::kError, "mqtt: the broker refused the subscription; nothing arrives on it",
        {Field("broker", self->settings_.broker.ToString()), Field("topic", topic)});
  } else if (granted < self->settings_.qos) {
    Log(LogLevel::kWarn, "mqtt: the broker granted a lower QoS than asked; messages can be lost",
        {Field("topic", topic), Field("qos", self->settings_.qos), Field("granted_qos", granted)});
  }
  if (self->awaiting_suback_.empty()) {
    self->shared_->connected->Set(1);
    Log(LogLevel::kInfo, "mqtt: subscribed", {Field("subscriptions", self->settings_.subscriptions.size())});
  }
}

void MqttSubscriber::OnDisconnect(mosquitto*, void* self_ptr, int rc) {
  auto* self = static_cast<MqttSubscriber*>(self_ptr);
  self->shared_->connected->Set(0);
  if (rc == 0) return;  // asked for (Stop)
  uint64_t suppressed = 0;
  if (self->connection_log_limiter_.Allow(&suppressed)) {
    Log(LogLevel::kWarn, "mqtt: connection lost; reconnecting",
        {Field("broker", self->settings_.broker.ToString()), Field("suppressed_since_last", suppressed)});
  }
}

void MqttSubscriber::OnMessage(mosquitto*, void* self_ptr, const mosquitto_message* message) {
  static_cast<MqttSubscriber*>(self_ptr)->Handle(*message);
}

void MqttSubscriber::Handle(const mosquitto_message& message) {
  const std::string topic = message.topic == nullptr ? "" : message.topic;
  const auto refuse = [&](const std::string& why, MqttRefusal reason) {
    shared_->refused->Increment();
    shared_->refused_by_reason[static_cast<size_t>(reason)]->Increment();
    uint64_t suppressed = 0;
    if (refuse_log_limiter_.Allow(&suppressed)) {
      Log(LogLevel::kWarn, "mqtt: message refused",
          {Field("topic", topic), Field("reason", why), Field("suppressed_since_last", suppressed)});
    }
  };
  const auto size = static_cast<size_t>(std::max(0, message.payloadlen));
  if (size > kMaxPayloadBytes) {
    return refuse("payload over " + std::to_string(kMaxPayloadBytes) + " bytes", MqttRefusal::kTooLarge);
  }
  const std::string_view payload(static_cast<const char*>(message.payload), size);
  const config::MqttSubscription* subscription = nullptr;
  for (const config::MqttSubscription& s : settings_.subscriptions) {
    if (TopicMatches(s.filter, topic)) {
      subscription = &s;
      break;
    }
  }
  if (subscription == nullptr) return refuse("no subscription matches the topic", MqttRefusal::kTopic);
  MqttConversion converted = ConvertMqttMessage(*subscription, topic, payload, precision_);
  if (!converted.error.empty()) return refuse(converted.error, converted.refusal);
  shared_->accepted->Increment();
  std::unique_lock<std::mutex> lock(shared_->mu);
  // When stopping, the message is queued all the same: Stop hands it over.
  shared_->room.wait(lock, [&] {
    return shared_->stopping ||
           (shared_->pending < settings_.max_pending && shared_->pending_bytes + size <= kMaxPendingBytes);
  });
  ++shared_->pending;
  shared_->pending_bytes += size;
  shared_->queue.push_back(PendingMessage{std::move(converted.lines), "mqtt:" + topic, size});
  if (shared_->drain_posted || shared_->stopping) return;
  shared_->drain_posted = true;
  lock.unlock();
  // One drain for as many messages as arrive before it runs.
  PostDrain(io_, shared_);
}

}  // namespace lstmad::daemon
