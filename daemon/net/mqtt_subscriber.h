// MqttSubscriber: lstmad as an MQTT client (libmosquitto) that subscribes to
// the topic filters of `mqtt.subscriptions` and hands every message, turned
// into line-protocol lines (ingest/mqtt_payload.h), to the same LineSink as
// the TCP listener (so validation, reject counters and routing are the
// same). libmosquitto's network thread receives and queues; the io thread
// hands the queue to the sink in batches (one post per batch, not per
// message). At most mqtt.max_pending messages (and 64 MiB) wait: beyond that
// the network thread stops reading, so the broker holds what comes next (TCP
// back-pressure) instead of lstmad's memory.
//
// A broker that is down at start or goes away later is retried with
// exponential backoff (mqtt.reconnect_min .. reconnect_max); every
// (re)connection subscribes again. With clean_session: false and a
// client_id, the broker keeps the session, and QoS 1 messages published
// while lstmad was away arrive when it comes back. libmosquitto acknowledges
// a QoS 1 message before lstmad has scored it, so a crash in between loses
// it (at most once past the broker's acknowledgement); a clean Stop hands
// every received message over first.
//
// Metrics: lstmad_mqtt_connected (1 while connected), lstmad_mqtt_connections_total
// (successful connects), lstmad_mqtt_messages_total{outcome="accepted"|"refused"},
// lstmad_mqtt_refused_total{reason}.
// Construct and Start/Stop on the io thread.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "ingest/line_sink.h"
#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"
#include "net/asio.h"
#include "obs/logging.h"
#include "obs/metrics.h"

struct mosquitto;
struct mosquitto_message;

namespace lstmad::daemon {

class MqttSubscriber {
 public:
  MqttSubscriber(asio::io_context& io, config::MqttSettings settings, config::TimestampPrecision precision,
                 size_t max_line_bytes, LineSink* sink, Metrics* metrics);
  ~MqttSubscriber();
  MqttSubscriber(const MqttSubscriber&) = delete;
  MqttSubscriber& operator=(const MqttSubscriber&) = delete;

  // Reads the password file, sets up TLS, and starts connecting (in the
  // background: a broker that is down is not an error here, only logged).
  core::Status Start();
  // Disconnects, joins the network thread, and hands every message received
  // so far to the sink (they were acknowledged to the broker: a clean stop
  // loses none). On the io thread.
  void Stop();

 private:
  struct Shared;
  static bool DrainBatch(Shared* shared);  // on the io thread
  static void PostDrain(asio::io_context& io, std::shared_ptr<Shared> shared);
  static void OnConnect(mosquitto* client, void* self, int rc);
  static void OnDisconnect(mosquitto* client, void* self, int rc);
  static void OnSubscribe(mosquitto* client, void* self, int mid, int qos_count, const int* granted_qos);
  static void OnMessage(mosquitto* client, void* self, const mosquitto_message* message);
  void Handle(const mosquitto_message& message);  // on the network thread

  asio::io_context& io_;
  config::MqttSettings settings_;
  config::TimestampPrecision precision_;
  // With the io thread's handlers, which may run after Stop (they then
  // leave the sink alone).
  std::shared_ptr<Shared> shared_;
  mosquitto* client_ = nullptr;
  bool started_ = false;
  // The connection's SUBSCRIBEs still awaiting the broker's SUBACK: message
  // id -> index in settings_.subscriptions. On the network thread only.
  std::map<int, size_t> awaiting_suback_;
  RateLimiter refuse_log_limiter_{1};
  RateLimiter connection_log_limiter_{1};
};

}  // namespace lstmad::daemon
