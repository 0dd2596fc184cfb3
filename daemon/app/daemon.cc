#include "app/daemon.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <stop_token>
#include <thread>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "alerting/alert_dispatcher.h"
#include "alerting/alertmanager_client.h"
#include "alerting/event_log.h"
#include "alerting/remote_write_client.h"
#include "app/console_routes.h"
#include "cluster/cluster.h"
#include "cluster/cluster_forwarder.h"
#include "ingest/graphite_sink.h"
#include "ingest/ingestor.h"
#include "ingest/remote_write_receiver.h"
#include "ingest/snapshot.h"
#include "lstmad/core/text.h"
#include "net/asio.h"
#include "net/http_server.h"
#include "net/influx_write.h"
#include "net/ingest_server.h"
#include "net/mqtt_subscriber.h"
#include "net/tls_client.h"
#include "obs/logging.h"
#include "obs/memory_limit.h"
#include "obs/metrics.h"
#include "obs/spdlog_writer.h"
#include "obs/systemd_notify.h"
#include "scoring/model_runtime.h"
#include "scoring/retrainer.h"
#include "scoring/scorer.h"
#include "scoring/stream_retrain.h"

#ifndef LSTMAD_VERSION
#define LSTMAD_VERSION "dev"
#endif

namespace lstmad::daemon {
namespace {

// "7.5 KiB", "1.9 GiB": three significant digits at most, binary units.
std::string Bytes(double bytes) {
  static constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = bytes;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.3g %s", value, kUnits[unit]);
  return text;
}

// retrain.scope stream gives every stream its own buffer and, in time, its
// own model, bounded only by limits.max_streams (over all models). Said when
// that bound is more than the memory the process may use (the machine's, or
// its cgroup's limit): a client that opens streams up to the limit would run
// the daemon out of memory before it refuses one.
std::optional<std::string> PerStreamRetrainWarning(const config::Settings& s, const ModelSet& models) {
  const ModelRuntime* largest = nullptr;
  int64_t per_stream = 0;
  for (const auto& m : models.models) {
    if (!m->settings.retrain.enabled() || m->settings.retrain.scope != config::RetrainScope::kStream)
      continue;
    const int64_t bytes = StreamRetrainBytes(*m).total();
    if (largest == nullptr || bytes > per_stream) {
      largest = m.get();
      per_stream = bytes;
    }
  }
  if (largest == nullptr) return std::nullopt;
  // In double: max_windows and max_streams both reach INT_MAX, beyond int64.
  const double worst = static_cast<double>(per_stream) * s.limits.max_streams;
  const MemoryLimit memory = UsableMemory();
  if (memory.bytes <= 0 || worst <= memory.bytes) return std::nullopt;
  return "per-stream retraining of model " + largest->name() + " may hold " + Bytes(worst) +
         " at limits.max_streams (" + std::to_string(s.limits.max_streams) + " streams of " +
         Bytes(static_cast<double>(per_stream)) + "), more than the " + Bytes(memory.bytes) +
         " of memory this process may use (" +
         (memory.from_cgroup ? "its cgroup's limit" : "the machine's memory") +
         "): lower limits.max_streams or retrain.max_windows, or use a smaller model";
}

// POST /api/v1/write: Prometheus remote_write into the receiver, behind the
// metrics listener's TLS and basic auth. Always routed, so that a reload can
// give a model remote_write: without one, 404 says what to configure.
// remote_write.max_body_bytes applies here as read at start (the route
// table is fixed once listening); the receiver checks the current value too.
HttpRoute RemoteWriteRoute(RemoteWriteReceiver* receiver, const config::RemoteWriteSettings& limits) {
  HttpRoute route;
  route.path = "/api/v1/write";
  route.methods = {"POST"};
  route.max_body = static_cast<size_t>(limits.max_body_bytes);
  route.handler = [receiver](const HttpRequest& request) {
    HttpReply reply;
    if (!receiver->enabled()) {
      reply.status = 404;
      reply.body = "no model reads remote_write (models[].remote_write)\n";
      return reply;
    }
    RemoteWriteReceiver::Request in;
    in.content_encoding = request.Header("content-encoding");
    in.content_type = request.Header("content-type");
    in.version = request.Header("x-prometheus-remote-write-version");
    in.body = request.body;
    in.peer = request.peer;
    RemoteWriteReceiver::Reply out = receiver->Handle(in);
    reply.status = out.status;
    reply.body = std::move(out.body);
    if (out.retry_after) reply.headers.emplace_back("Retry-After", "1");
    return reply;
  };
  return route;
}

core::Result<std::shared_ptr<EventLog>> OpenEvents(const config::EventsSettings& events) {
  if (events.path.empty()) return std::shared_ptr<EventLog>();
  auto log = EventLog::Open(events.path);
  if (!log.ok()) return log.status().WithContext("events.path");
  return std::shared_ptr<EventLog>(std::move(log).value());
}

// Runs the io_context on a thread of its own while start-up blocks the
// calling thread waiting for NATS, so that SIGTERM or SIGINT end that wait
// (through `stop`) instead of waiting with it; SIGHUP is ignored until
// serving. On destruction the signal wait is cancelled on the io thread,
// which is joined: the io_context is then free for Run().
class StartupSignals {
 public:
  StartupSignals(asio::io_context& io, asio::signal_set& signals, std::stop_source stop)
      : io_(io), signals_(signals), stop_(std::move(stop)), work_(asio::make_work_guard(io)) {
    Arm();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~StartupSignals() { Finish(); }
  StartupSignals(const StartupSignals&) = delete;
  StartupSignals& operator=(const StartupSignals&) = delete;

  // Ends the signal wait and joins the io thread. The signal that asked
  // start-up to stop (one that arrives later stays queued for Run); 0: none.
  int Finish() {
    if (thread_.joinable()) {
      asio::post(io_, [this] {
        signals_.cancel();
        work_.reset();
      });
      thread_.join();
      io_.restart();
    }
    return signal_;
  }

 private:
  void Arm() {
    signals_.async_wait([this](boost::system::error_code ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        Log(LogLevel::kWarn, "SIGHUP during start-up ignored; nothing to reload yet");
        Arm();
        return;
      }
      signal_ = signal;
      stop_.request_stop();
    });
  }

  asio::io_context& io_;
  asio::signal_set& signals_;
  std::stop_source stop_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  int signal_ = 0;  // written on the io thread, read after it is joined
  std::thread thread_;
};

// The TLS client for https:// Alertmanager URLs; none without one.
core::Result<TlsTransport> AlertmanagerTls(const config::AlertmanagerSettings& am) {
  if (!am.https()) return TlsTransport{};
  auto client = MakeTlsClient(am.tls_ca, am.tls_cert, am.tls_key, "alertmanager.tls");
  if (!client.ok()) return core::Status::Invalid(client.status().message());
  return TlsTransport(std::move(client).value());
}

// The TLS client for an https:// remote_write_out URL; none without one.
core::Result<TlsTransport> RemoteWriteOutTls(const config::RemoteWriteOutSettings& out) {
  if (out.url.rfind("https://", 0) != 0) return TlsTransport{};
  auto client = MakeTlsClient(out.tls_ca, out.tls_cert, out.tls_key, "remote_write_out.tls");
  if (!client.ok()) return core::Status::Invalid(client.status().message());
  return TlsTransport(std::move(client).value());
}

}  // namespace

struct Daemon::Impl {
  config::Settings settings;
  Metrics metrics{LSTMAD_VERSION};
  std::shared_ptr<const ModelSet> models;
  std::shared_ptr<EventLog> events;
  // The web console's stream histories: declared before everything that
  // holds stream states (the scorer's jobs, the ingestor, the cluster), so it
  // outlives them.
  std::unique_ptr<HistoryRegistry> histories;
  std::unique_ptr<AlertmanagerClient> alertmanager;  // declared before the scorer: outlives it
  std::unique_ptr<AlertDispatcher> alerts;           // likewise: the scorer's alert sink
  std::unique_ptr<Retrainer> retrainer;              // likewise: the scorer reports to it
  std::unique_ptr<Scorer> scorer;
  std::unique_ptr<Ingestor> ingestor;
  // remote_write_out: read at start (a reload keeps it as it is).
  std::unique_ptr<RemoteWriteClient> remote_write_out;
  std::unique_ptr<Cluster> cluster;  // cluster mode (nats:) only; stopped before the scorer
  // nats.tcp_ingest: forward only: the TCP listener's sink; publishes over
  // the cluster's connection, so declared after it (destroyed first).
  std::unique_ptr<ClusterForwarder> forwarder;
  asio::io_context io{1};
  std::unique_ptr<IngestServer> server;
  // ingest.graphite: its own listener, whose lines go to the ingestor through the sink.
  std::unique_ptr<GraphiteSink> graphite_sink;
  std::unique_ptr<IngestServer> graphite;
  std::unique_ptr<HttpServer> http;
  // ingest.http: the InfluxDB write API; its routes call `influx`, so the
  // server is declared after it (destroyed first).
  std::unique_ptr<InfluxWrite> influx;
  std::unique_ptr<HttpServer> http_ingest;
  // POST /api/v1/write (Prometheus remote_write in); feeds the TCP path's sink.
  std::unique_ptr<RemoteWriteReceiver> remote_write;
  std::unique_ptr<MqttSubscriber> mqtt;  // mqtt: only; feeds the TCP listener's sink
  asio::signal_set signals{io, SIGINT, SIGTERM, SIGHUP};
  asio::steady_timer watchdog{io};
  asio::steady_timer snapshot_timer{io};
  asio::steady_timer expiry_timer{io};
  asio::steady_timer assembly_timer{io};
  std::optional<std::chrono::microseconds> watchdog_interval;
  bool stopping = false;
  int stopped_at_start = 0;  // the signal that stopped start-up's wait for NATS; 0: none
  // SIGHUP reads and parses the configuration and the model files on
  // `loader`, off the io thread, so /metrics and ingestion are served during
  // a slow load; FinishReload applies the result on the io thread. A SIGHUP
  // during a load asks for one more load after it. io-thread state.
  struct PreparedReload {
    core::Result<config::Settings> settings;
    core::Result<std::vector<std::shared_ptr<ModelRuntime>>> models;
  };
  std::thread loader;
  bool reload_running = false;
  bool reload_again = false;

  ~Impl() {
    // A load still running posts its result to the stopped io_context, which
    // drops it; wait for it so it outlives nothing it uses.
    if (loader.joinable()) loader.join();
  }
  void WaitForSignal();
  void Reload();
  void FinishReload(PreparedReload prepared);
  core::Status ServeHttpIngest();
  bool TryReload(PreparedReload prepared, std::string* error);
  void Stop(int signal);
  void KickWatchdog();
  void RestoreSnapshot();
  void SaveSnapshot(const char* why);
  void ScheduleSnapshot();
  void ScheduleExpiry();
  void ExpireIdleStreams();
  void ScheduleAssembly();
  void RetireStreams(const std::vector<DroppedStreams>& dropped);
  void InstallRetrained(const RetrainCandidate& candidate);
};

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Daemon::~Daemon() = default;

core::Result<std::unique_ptr<Daemon>> Daemon::Create(config::Settings settings) {
  LSTMAD_RETURN_IF_ERROR(ConfigureLogging(settings.log));
  auto impl = std::make_unique<Impl>();
  impl->settings = std::move(settings);
  auto models = LoadModelSet(impl->settings, &impl->metrics);
  if (!models.ok()) return models.status();
  impl->models = std::move(models).value();
  auto events = OpenEvents(impl->settings.events);
  if (events.ok()) {
    impl->events = std::move(events).value();
  } else {
    // Alerts still reach the log, the metrics and Alertmanager: an unwritable
    // events file is no reason to stop detecting.
    impl->metrics.EventWriteFailures().Increment();
    Log(LogLevel::kError, "cannot open the events file; alert events go to the log only",
        {Field("error", events.status().message())});
  }
  auto am_tls = AlertmanagerTls(impl->settings.alertmanager);
  if (!am_tls.ok()) return am_tls.status();
  impl->alertmanager = std::make_unique<AlertmanagerClient>(impl->settings.alertmanager, &impl->metrics,
                                                            std::move(am_tls).value());
  impl->alerts = std::make_unique<AlertDispatcher>(&impl->metrics);
  impl->alerts->SetEventLog(impl->events);
  impl->alerts->SetAlertmanager(impl->alertmanager.get());
  impl->scorer = std::make_unique<Scorer>(impl->settings.scoring, &impl->metrics);
  impl->scorer->SetAlertSink(impl->alerts.get());
  if (impl->settings.console.enabled) {
    impl->histories = std::make_unique<HistoryRegistry>(impl->settings.console.history);
    impl->scorer->SetHistory(impl->histories.get());
  }
  Impl* d = impl.get();
  impl->retrainer = std::make_unique<Retrainer>(&impl->metrics, impl->settings.state.path, [d](RetrainCandidate c) {
    asio::post(d->io, [d, c = std::move(c)] { d->InstallRetrained(c); });
  });
  impl->retrainer->Configure(*impl->models);
  if (auto warning = PerStreamRetrainWarning(impl->settings, *impl->models)) Log(LogLevel::kWarn, *warning);
  impl->scorer->SetObserver(impl->retrainer.get());
  impl->ingestor = std::make_unique<Ingestor>(impl->settings, impl->models, impl->scorer.get(), &impl->metrics);
  impl->RestoreSnapshot();
  if (impl->settings.remote_write_out.enabled()) {
    auto rw_tls = RemoteWriteOutTls(impl->settings.remote_write_out);
    if (!rw_tls.ok()) return rw_tls.status();
    impl->remote_write_out = std::make_unique<RemoteWriteClient>(impl->settings.remote_write_out,
                                                                 &impl->metrics, std::move(rw_tls).value());
  }
  if (impl->settings.nats) {
    std::stop_source startup_stop;
    StartupSignals signals(impl->io, impl->signals, startup_stop);
    auto cluster = Cluster::Create(impl->settings, impl->models, impl->scorer.get(), &impl->metrics,
                                   impl->alertmanager.get(), startup_stop.get_token());
    const int signal = signals.Finish();
    if (signal != 0) {
      // A stop asked for while waiting for NATS (or just as it ended): a
      // clean stop, not a failure. A cluster just created goes with its
      // heartbeat; it owned nothing yet.
      impl->stopped_at_start = signal;
      return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
    }
    if (!cluster.ok()) return cluster.status();
    impl->cluster = std::move(cluster).value();
    if (impl->settings.nats->tcp_ingest == config::TcpIngest::kForward) {
      auto publish = NatsPublisher(impl->cluster->link());
      if (!publish.ok()) return publish.status();
      const auto started = std::chrono::system_clock::now().time_since_epoch();
      impl->forwarder = std::make_unique<ClusterForwarder>(
          impl->settings, impl->models, &impl->metrics, std::move(publish).value(),
          impl->cluster->instance_id() + "-" + std::to_string(std::chrono::nanoseconds(started).count()));
    }
  }
  LineSink* tcp_sink = impl->forwarder ? static_cast<LineSink*>(impl->forwarder.get()) : impl->ingestor.get();
  impl->server = std::make_unique<IngestServer>(impl->io, tcp_sink, &impl->metrics,
                                                impl->settings.limits, impl->settings.ingest);
  if (impl->settings.ingest.graphite.listen) {
    if (impl->forwarder) {
      return core::Status::Invalid("ingest.graphite is not supported with nats.tcp_ingest: forward");
    }
    auto templates = GraphiteTemplates::Compile(impl->settings.ingest.graphite.templates,
                                                impl->settings.ingest.graphite.separator);
    if (!templates.ok()) return templates.status();
    impl->graphite_sink = std::make_unique<GraphiteSink>(impl->ingestor.get(), &impl->metrics,
                                                         std::move(templates).value(),
                                                         impl->settings.limits.max_line_bytes);
    impl->graphite = std::make_unique<IngestServer>(impl->io, impl->graphite_sink.get(), &impl->metrics,
                                                    impl->settings.limits, impl->settings.ingest);
    impl->graphite->set_setting_name("ingest.graphite.listen");
  }
  Metrics* metrics = &impl->metrics;
  impl->http = std::make_unique<HttpServer>(impl->io, [metrics] { return metrics->Scrape(); }, metrics);
  if (impl->histories) {
    ConsoleSources sources;
    sources.histories = impl->histories.get();
    sources.models = [d] { return d->models; };
    sources.settings = [d]() -> const config::Settings& { return d->settings; };
    AddConsoleRoutes(impl->http.get(), std::make_shared<const Console>(std::move(sources)));
  }
  auto mapping = RemoteWriteReceiver::MappingOf(*impl->models);
  if (!mapping.ok()) return mapping.status();
  asio::io_context* io = &impl->io;
  impl->remote_write = std::make_unique<RemoteWriteReceiver>(
      tcp_sink, metrics, [io](std::function<void()> fn) { asio::post(*io, std::move(fn)); });
  impl->remote_write->Configure(impl->settings, std::move(mapping).value());
  impl->http->AddRoute(RemoteWriteRoute(impl->remote_write.get(), impl->settings.remote_write));
  if (impl->settings.mqtt) {
    impl->mqtt = std::make_unique<MqttSubscriber>(impl->io, *impl->settings.mqtt, impl->settings.ingest.precision,
                                                  static_cast<size_t>(impl->settings.limits.max_line_bytes), tcp_sink,
                                                  &impl->metrics);
  }
  return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

core::Status Daemon::Run() {
  Impl& d = *impl_;
  if (d.stopped_at_start != 0) {
    systemd::NotifyStopping();
    Log(LogLevel::kInfo, "stopped during start-up, before serving",
        {Field("signal", d.stopped_at_start == SIGTERM ? "SIGTERM" : "SIGINT")});
    FlushLogs();
    return core::Status::Ok();
  }
  const config::Endpoint& metrics_at = d.settings.metrics.listen;
  d.http->Configure(d.settings.metrics);
  // Certificates that do not load and bad ingest settings are the
  // configuration's fault; ListenOn classifies its own failures.
  if (core::Status s = d.http->set_tls(d.settings.metrics.tls); !s.ok()) {
    return core::Status::Invalid(s.message()).WithContext("cannot serve metrics");
  }
  if (core::Status s = d.http->Listen(metrics_at); !s.ok()) return s.WithContext("cannot serve metrics");
  if (core::Status s = d.server->set_ingest(d.settings.ingest); !s.ok()) {
    return core::Status::Invalid(s.message()).WithContext("cannot set up ingestion");
  }
  if (core::Status s = d.server->Listen(d.settings.ingest.listen); !s.ok()) {
    return s.WithContext("cannot listen for samples");
  }
  if (core::Status s = d.ServeHttpIngest(); !s.ok()) return s;
  if (d.graphite) {
    if (core::Status s = d.graphite->set_ingest(d.settings.ingest); !s.ok()) {
      return core::Status::Invalid(s.message()).WithContext("cannot set up Graphite ingestion");
    }
    if (core::Status s = d.graphite->Listen(*d.settings.ingest.graphite.listen); !s.ok()) {
      return s.WithContext("cannot listen for Graphite samples");
    }
    Log(LogLevel::kInfo, "Graphite listener",
        {Field("graphite", d.settings.ingest.graphite.listen->host + ":" + std::to_string(d.graphite->port()))});
  }
  if (d.mqtt) {
    if (core::Status s = d.mqtt->Start(); !s.ok()) {
      return core::Status::Invalid(s.message()).WithContext("cannot subscribe to MQTT");
    }
  }
  std::string names;
  for (const auto& m : d.models->models) names += (names.empty() ? "" : ",") + m->name();
  Log(LogLevel::kInfo, "lstmad serving",
      {Field("version", LSTMAD_VERSION), Field("ingest", d.settings.ingest.listen.host + ":" + std::to_string(d.server->port())),
       Field("metrics", metrics_at.host + ":" + std::to_string(d.http->port())),
       Field("models", names), Field("config", d.settings.source)});
  if (d.cluster) d.cluster->Start();
  if (d.forwarder) d.forwarder->Start();
  d.WaitForSignal();
  d.watchdog_interval = systemd::WatchdogInterval();
  d.KickWatchdog();
  d.ScheduleSnapshot();
  d.ScheduleExpiry();
  d.ScheduleAssembly();
  d.http->set_ready(true);
  if (d.http_ingest) d.http_ingest->set_ready(true);
  systemd::NotifyReady();
  d.retrainer->Start();
  d.io.run();
  return core::Status::Ok();
}

void Daemon::Impl::WaitForSignal() {
  signals.async_wait([this](boost::system::error_code ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      Reload();
      WaitForSignal();
    } else {
      Stop(signal);
    }
  });
}

void Daemon::Impl::KickWatchdog() {
  if (!watchdog_interval || stopping) return;
  // Sent from the event loop, so a stuck loop stops the pings and systemd
  // restarts the service.
  systemd::NotifyWatchdog();
  watchdog.expires_after(*watchdog_interval);
  watchdog.async_wait([this](boost::system::error_code ec) {
    if (!ec) KickWatchdog();
  });
}

bool Daemon::Impl::TryReload(PreparedReload prepared, std::string* error) {
  auto& next = prepared.settings;
  if (!next.ok()) {
    *error = next.status().message();
    return false;
  }
  if (!prepared.models.ok()) {
    *error = prepared.models.status().message();
    return false;
  }
  auto am_tls = AlertmanagerTls(next->alertmanager);
  if (!am_tls.ok()) {
    *error = am_tls.status().message();
    return false;
  }
  ModelSet loaded;
  for (const auto& m : *prepared.models) loaded.models.push_back(m);
  auto rw_mapping = RemoteWriteReceiver::MappingOf(loaded);
  if (!rw_mapping.ok()) {
    *error = rw_mapping.status().message();
    return false;
  }
  // Reopened on every reload, not only when the path changes, so that "move
  // it away and reload" rotates it. The same path failing to reopen keeps the
  // open file (and says so); a new path failing fails the reload.
  std::shared_ptr<EventLog> next_events = events;
  if (auto opened = OpenEvents(next->events); opened.ok()) {
    next_events = std::move(opened).value();
  } else if (next->events.path != settings.events.path) {
    *error = opened.status().message();
    return false;
  } else {
    metrics.EventWriteFailures().Increment();
    Log(LogLevel::kError, "cannot reopen the events file; appending to the one open",
        {Field("error", opened.status().message())});
  }
  // Certificates are re-read here (a bad one fails the reload).
  if (core::Status s = server->set_ingest(next->ingest); !s.ok()) {
    *error = s.message();
    return false;
  }
  if (core::Status s = http->set_tls(next->metrics.tls); !s.ok()) {
    *error = s.message();
    (void)server->set_ingest(settings.ingest);
    return false;
  }
  std::optional<GraphiteTemplates> next_templates;
  if (graphite) {
    auto compiled = GraphiteTemplates::Compile(next->ingest.graphite.templates, next->ingest.graphite.separator);
    if (!compiled.ok() || !graphite->set_ingest(next->ingest).ok()) {
      *error = compiled.ok() ? "ingest.graphite: cannot load ingest.tls" : compiled.status().message();
      (void)server->set_ingest(settings.ingest);
      (void)http->set_tls(settings.metrics.tls);
      return false;
    }
    next_templates = std::move(compiled).value();
  }
  // Every step that can fail is behind us: register the new models' metrics.
  core::Result<std::shared_ptr<const ModelSet>> next_models =
      MakeModelSet(std::move(prepared.models).value(), &metrics);

  const auto graphite_at = [](const config::Settings& of) {
    return of.ingest.graphite.listen ? of.ingest.graphite.listen->ToString() : std::string();
  };
  if (next->ingest.listen.ToString() != settings.ingest.listen.ToString() || graphite_at(*next) != graphite_at(settings) ||
      next->metrics.listen.ToString() != settings.metrics.listen.ToString() ||
      next->scoring.workers != settings.scoring.workers) {
    Log(LogLevel::kWarn, "listen addresses and scoring.workers change only on restart");
  }
  if (!(next->remote_write_out == settings.remote_write_out)) {
    Log(LogLevel::kWarn, "remote_write_out changes only on restart; the write-back goes on as it was");
  }
  if (next->mqtt != settings.mqtt) {
    Log(LogLevel::kWarn, "mqtt changes only on restart; the subscriptions go on as they were");
  }
  const std::vector<DroppedStreams> dropped = ingestor->Reload(*next, *next_models);
  remote_write->Configure(*next, std::move(rw_mapping).value());
  if (cluster) cluster->Reload(*next, *next_models);
  if (forwarder) forwarder->Reload(*next, *next_models);
  alerts->SetEventLog(next_events);
  alertmanager->Reconfigure(next->alertmanager, std::move(am_tls).value());
  server->set_limits(next->limits);
  if (graphite) {
    graphite->set_limits(next->limits);
    graphite_sink->Reconfigure(std::move(*next_templates), next->limits.max_line_bytes);
  }
  http->Configure(next->metrics);
  if (core::Status s = ConfigureLogging(next->log); !s.ok()) Log(LogLevel::kWarn, s.message());
  const std::string source = settings.source;
  settings = std::move(next).value();
  settings.source = source;
  models = std::move(next_models).value();
  events = std::move(next_events);
  retrainer->Configure(*models);
  if (auto warning = PerStreamRetrainWarning(settings, *models)) Log(LogLevel::kWarn, *warning);
  RetireStreams(dropped);
  ScheduleExpiry();  // limits.stream_expiry_s may have changed
  ScheduleAssembly();  // so may models[].assembly
  return true;
}

// On the io thread, like a reload, so the two cannot interleave: streams keep
// their windows and alert states; a candidate trained from a runtime that a
// reload has since replaced is discarded.
void Daemon::Impl::InstallRetrained(const RetrainCandidate& candidate) {
  auto next = ReplaceModel(*models, candidate.replaces.get(), candidate.runtime);
  const bool swap = next != nullptr && !stopping;
  if (swap) {
    ingestor->Reload(settings, next);
    if (forwarder) forwarder->Reload(settings, next);
    models = std::move(next);
  }
  retrainer->Installed(candidate, swap);
}

void Daemon::Impl::Reload() {
  if (reload_running) {
    reload_again = true;
    return;
  }
  reload_running = true;
  systemd::NotifyReloading();
  Log(LogLevel::kInfo, "reloading the configuration", {Field("config", settings.source)});
  if (loader.joinable()) loader.join();  // the previous load, which has finished
  loader = std::thread([this, source = settings.source] {
    auto prepared = std::make_shared<PreparedReload>(
        PreparedReload{config::LoadSettings(source), core::Status::Error("not loaded")});
    if (prepared->settings.ok()) prepared->models = LoadModelRuntimes(*prepared->settings);
    asio::post(io, [this, prepared] { FinishReload(std::move(*prepared)); });
  });
}

void Daemon::Impl::FinishReload(PreparedReload prepared) {
  reload_running = false;
  if (stopping) return;
  std::string error;
  if (TryReload(std::move(prepared), &error)) {
    metrics.ConfigReload(true).Increment();
    Log(LogLevel::kInfo, "configuration reloaded", {Field("config", settings.source), Field("models", static_cast<int64_t>(models->models.size()))});
  } else {
    metrics.ConfigReload(false).Increment();
    Log(LogLevel::kError, "configuration reload failed; keeping the running configuration",
        {Field("config", settings.source), Field("error", error)});
  }
  systemd::NotifyReady();
  if (reload_again) {
    reload_again = false;
    Reload();
  }
}

// ingest.http: a second HttpServer with the InfluxDB write routes, feeding
// the same sink as the TCP listener.
core::Status Daemon::Impl::ServeHttpIngest() {
  const config::HttpIngestSettings& http_settings = settings.ingest.http;
  if (!http_settings.listen) return core::Status::Ok();
  LineSink* sink = forwarder ? static_cast<LineSink*>(forwarder.get()) : ingestor.get();
  influx = std::make_unique<InfluxWrite>(io, sink, &metrics, settings.ingest,
                                         static_cast<size_t>(settings.limits.max_line_bytes));
  http_ingest = std::make_unique<HttpServer>(io, [] { return std::string(); });
  http_ingest->set_identity("http ingest endpoint", "ingest.http");
  http_ingest->set_limits(http_settings.max_connections_per_peer, config::MetricsSettings{}.max_auth_failures_per_minute);
  http_ingest->set_keep_alive(http_settings.max_requests_per_connection,
                              std::chrono::milliseconds(static_cast<int64_t>(http_settings.idle_timeout_s * 1000)));
  influx->AddRoutes(http_ingest.get());
  // The exposition lives on metrics.listen only.
  http_ingest->AddRoute({"/metrics", {"GET"}, false, 0, [](const HttpRequest&) {
                           return HttpReply{404, "text/plain", "metrics are served on metrics.listen\n", {}};
                         }});
  if (core::Status s = http_ingest->set_tls(http_settings.tls); !s.ok()) {
    return core::Status::Invalid(s.message()).WithContext("cannot serve the HTTP write API");
  }
  if (core::Status s = http_ingest->Listen(*http_settings.listen); !s.ok()) {
    return s.WithContext("cannot serve the HTTP write API");
  }
  Log(LogLevel::kInfo, "serving the InfluxDB write API",
      {Field("listen", http_settings.listen->host + ":" + std::to_string(http_ingest->port())),
       Field("tls", http_settings.tls.enabled() ? "on" : "off"), Field("tokens", static_cast<int64_t>(http_settings.tokens.size()))});
  return core::Status::Ok();
}

void Daemon::Impl::Stop(int signal) {
  stopping = true;
  http->set_ready(false);
  systemd::NotifyStopping();
  Log(LogLevel::kInfo, "stopping", {Field("signal", signal == SIGTERM ? "SIGTERM" : "SIGINT")});
  retrainer->Stop();  // interrupts a fine-tune at its next mini-batch
  // Every line already read has been handed to the scorer; score them all.
  server->StopAccepting();
  server->CloseAll();
  if (http_ingest) http_ingest->Stop();
  if (influx) influx->Finish();  // lines a write request left waiting for room
  remote_write->Flush();
  if (graphite) {
    graphite->StopAccepting();
    graphite->CloseAll();
  }
  if (mqtt) mqtt->Stop();
  if (forwarder) forwarder->Stop();  // publishes what TCP clients sent, for at most nats.forward_timeout
  if (cluster) cluster->Stop();  // hands its partitions over, checkpointed
  scorer->Drain();
  snapshot_timer.cancel();
  expiry_timer.cancel();
  assembly_timer.cancel();
  SaveSnapshot("shutdown");
  alertmanager->Flush(std::chrono::milliseconds(static_cast<int64_t>(settings.alertmanager.timeout_s * 1000)));
  if (remote_write_out) {
    // The series' last values are written back too.
    remote_write_out->Flush(
        std::chrono::milliseconds(static_cast<int64_t>(settings.remote_write_out.timeout_s * 1000)));
  }
  watchdog.cancel();
  http->Stop();
  Log(LogLevel::kInfo, "stopped",
      {Field("samples_received", ingestor->samples_received()),
       Field("samples_rejected", ingestor->samples_rejected()),
       Field("windows_scored", scorer->windows_scored()),
       Field("streams", static_cast<int64_t>(ingestor->stream_count()))});
  FlushLogs();
  io.stop();
}

void Daemon::Impl::RestoreSnapshot() {
  if (settings.state.path.empty()) return;
  // Both series from the first scrape: a rule on them sees 0, not nothing.
  metrics.SnapshotFailures();
  metrics.SnapshotLastSuccess();
  if (core::Status made = EnsureStateDirectory(settings.state.path); !made.ok()) {
    Log(LogLevel::kError, "cannot create the state directory",
        {Field("path", settings.state.path), Field("error", made.message())});
  }
  std::error_code ec;
  const std::string path = SnapshotPath(settings.state.path);
  if (!std::filesystem::exists(path, ec)) return;  // first start: nothing to restore
  auto streams = ReadSnapshot(path);
  if (!streams.ok()) {
    Log(LogLevel::kError, "snapshot refused; starting with empty windows", {Field("error", streams.status().message())});
    return;
  }
  std::vector<AlertEvent> firing;
  const size_t restored = ingestor->Restore(*streams, &firing);
  alertmanager->Reannounce(firing);
  Log(LogLevel::kInfo, "snapshot restored",
      {Field("path", path), Field("streams", static_cast<int64_t>(restored)),
       Field("skipped", static_cast<int64_t>(streams->size() - restored)),
       Field("firing_alerts", static_cast<int64_t>(firing.size()))});
}

void Daemon::Impl::SaveSnapshot(const char* why) {
  if (settings.state.path.empty()) return;
  // Windows in flight update alert states; let them finish first.
  scorer->Drain();
  const auto start = std::chrono::steady_clock::now();
  const std::vector<StreamSnapshot> streams = ingestor->Save();
  const std::string path = SnapshotPath(settings.state.path);
  if (core::Status s = WriteSnapshotIn(settings.state.path, streams); !s.ok()) {
    metrics.SnapshotFailures().Increment();
    Log(LogLevel::kError, "writing the snapshot failed", {Field("error", s.message()), Field("reason", why)});
    return;
  }
  metrics.SnapshotLastSuccess().Set(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  Log(LogLevel::kDebug, "snapshot written",
      {Field("path", path), Field("streams", static_cast<int64_t>(streams.size())), Field("reason", why),
       Field("seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count())});
}

void Daemon::Impl::ScheduleSnapshot() {
  if (settings.state.path.empty() || stopping) return;
  snapshot_timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(settings.state.interval_s)));
  snapshot_timer.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    SaveSnapshot("periodic");
    ScheduleSnapshot();
  });
}

// Streams that went away (a reshaped or removed model, an expiry): once the
// windows queued for them are scored, nothing else points into their states,
// so their alerts are resolved and their series removed from here.
void Daemon::Impl::RetireStreams(const std::vector<DroppedStreams>& dropped) {
  if (dropped.empty()) return;
  scorer->Drain();
  for (const DroppedStreams& d : dropped) {
    const size_t resolved = scorer->Retire(d);
    Log(LogLevel::kInfo, "streams reset",
        {Field("model", d.model), Field("reason", d.reason),
         Field("streams", static_cast<int64_t>(d.streams)),
         Field("resolved_alerts", static_cast<int64_t>(resolved))});
  }
}

// On the io thread, which owns the stream tables; the scorer is drained
// only when some stream is due, so an idle sweep costs one pass over the
// tables' timestamps.
void Daemon::Impl::ExpireIdleStreams() {
  const auto idle = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(settings.limits.stream_expiry_s));
  const int64_t cutoff = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count() -
                         idle.count();
  if (ingestor->CountIdle(cutoff) == 0) return;
  scorer->Drain();  // Expire moves the kept streams' scoring state
  const std::vector<DroppedStreams> dropped = ingestor->Expire(cutoff);
  RetireStreams(dropped);
  // Now, not at the next periodic snapshot: a crash before it would
  // otherwise bring the expired streams back. Counted after it, so that a
  // scrape that sees the count sees a snapshot without them.
  SaveSnapshot("expiry");
  for (const DroppedStreams& d : dropped) metrics.StreamsExpired().Increment(static_cast<double>(d.streams));
}

// Assembled vectors whose models[].assembly.wait ran out are completed or
// dropped by this sweep: a quarter of the shortest wait (a vector waits at
// most 25% longer), at least every second, at most 100 times a second.
void Daemon::Impl::ScheduleAssembly() {
  assembly_timer.cancel();
  double shortest = -1;
  for (const auto& model : models->models) {
    const config::AssemblySettings& a = model->settings.assembly;
    if (a.enabled && (shortest < 0 || a.wait_s < shortest)) shortest = a.wait_s;
  }
  if (shortest < 0 || stopping) return;
  const double every = std::clamp(shortest / 4, 0.01, 1.0);
  assembly_timer.expires_after(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(every)));
  assembly_timer.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping) return;
    ingestor->ExpireAssembly(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
    ScheduleAssembly();
  });
}

void Daemon::Impl::ScheduleExpiry() {
  expiry_timer.cancel();
  if (settings.limits.stream_expiry_s <= 0 || stopping) return;
  // A quarter of the expiry time (a stream goes at most 25% late), at least
  // every minute, at most 20 times a second.
  const double every = std::clamp(settings.limits.stream_expiry_s / 4, 0.05, 60.0);
  expiry_timer.expires_after(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(every)));
  expiry_timer.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping) return;
    ExpireIdleStreams();
    ScheduleExpiry();
  });
}

namespace {

std::string Seconds(double s) { return core::FormatSignificant(s) + " s"; }

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// One line per model: what routes to it and how it judges.
std::string DescribeModel(const ModelRuntime& m) {
  const config::ModelSettings& s = m.settings;
  std::string line = "  model " + m.name() + ": measurement " + core::Quote(s.measurement) + ", " +
                     std::to_string(m.features()) + " features (" + JoinNames(m.model.feature_names) +
                     "), lookback " + std::to_string(m.lookback()) + ", threshold " +
                     core::FormatSignificant(m.threshold) +
                     (s.threshold ? " (from the config)" : " (from the model file)") + ", detector " +
                     std::string(core::ThresholdModeName(s.detector.options.threshold)) +
                     (s.detector.options.uses_novelty()
                          ? " and novel values (margin " + core::FormatSignificant(s.detector.options.novelty_margin) + ")"
                          : "") +
                     ", alert for " +
                     std::to_string(s.alert.fire_after) + " / clear " + std::to_string(s.alert.clear_after) +
                     " windows";
  if (!m.model.time_features.empty()) line += ", time features " + m.model.time_features.ToString();
  if (s.retrain.enabled()) {
    line += ", retrain every " + Seconds(s.retrain.every_s);
    if (s.retrain.scope == config::RetrainScope::kStream) {
      const StreamRetrainFootprint f = StreamRetrainBytes(m);
      line += " per stream (each stream up to " + Bytes(static_cast<double>(f.window_bytes)) +
              " of windows and about " + Bytes(static_cast<double>(f.model_bytes)) +
              " for a model of its own)";
    }
  }
  if (!s.guards.empty()) {
    std::vector<std::string> guarded;
    for (const auto& [feature, guard] : s.guards) guarded.push_back(feature);
    line += ", guards on " + JoinNames(guarded);
  }
  if (s.assembly.enabled) {
    line += ", assembled from pieces (tolerance " + Seconds(s.assembly.tolerance_s) + ", wait " +
            Seconds(s.assembly.wait_s) + ", carry forward " + std::to_string(s.assembly.carry_forward) + ")";
  }
  if (s.max_gap_intervals > 0) {
    line += ", window restarts after " + core::FormatSignificant(s.max_gap_intervals) + " intervals without a sample";
  }
  return line + "\n";
}

std::string DescribeSettings(const config::Settings& s, const ModelSet& models) {
  std::string out;
  out += "  ingest:       " + s.ingest.listen.ToString() + ", line protocol, timestamps in " +
         std::string(config::PrecisionName(s.ingest.precision)) +
         (s.ingest.tls.enabled() ? (s.ingest.tls.client_ca.empty() ? ", TLS" : ", mutual TLS") : ", plain TCP") +
         (s.ingest.allow.empty() ? "" : ", from " + JoinNames(s.ingest.allow)) + "\n";
  if (s.ingest.graphite.listen) {
    out += "  graphite:     " + s.ingest.graphite.listen->ToString() + ", Graphite plaintext, " +
           std::to_string(s.ingest.graphite.templates.size()) + " templates\n";
  }
  if (s.mqtt) {
    std::vector<std::string> topics;
    for (const config::MqttSubscription& sub : s.mqtt->subscriptions) {
      const char* format = sub.format == config::MqttSubscription::Format::kJson    ? " (JSON)"
                           : sub.format == config::MqttSubscription::Format::kValue ? " (values)"
                                                                                    : "";
      topics.push_back(sub.topic + format);
    }
    out += "  mqtt:         " + s.mqtt->broker.ToString() + (s.mqtt->tls_ca.empty() ? "" : " over TLS") + ", QoS " +
           std::to_string(s.mqtt->qos) + (s.mqtt->clean_session ? ", clean session" : ", persistent session") +
           ", topics " + JoinNames(topics) + "\n";
  }
  out += "  metrics:      " + s.metrics.listen.ToString() + " (/metrics, /healthz, /readyz)" +
         (s.metrics.tls.enabled() ? ", HTTPS" : ", plain HTTP") +
         (s.metrics.basic_auth_users.empty() ? "" : ", basic auth") + "\n";
  out += "  state:        " +
         (s.state.path.empty() ? std::string("off (streams restart empty)")
                               : s.state.path + ", a snapshot every " + Seconds(s.state.interval_s)) +
         "\n";
  out += "  events:       " + (s.events.path.empty() ? std::string("off") : s.events.path) + "\n";
  out += "  alertmanager: " +
         (s.alertmanager.enabled() ? JoinNames(s.alertmanager.urls) + ", firing alerts re-sent every " +
                                         Seconds(s.alertmanager.resend_interval_s)
                                   : std::string("off (alerts go to the log and the events file)")) +
         "\n";
  if (s.remote_write_out.enabled()) {
    out += "  write-back:   " + s.remote_write_out.url + ", the per-stream series every " +
           Seconds(s.remote_write_out.interval_s) + "\n";
  }
  if (s.nats) {
    out += "  cluster:      NATS " + JoinNames(s.nats->servers) + ", stream " + s.nats->stream + ", " +
           std::to_string(s.nats->partitions) + " partitions\n";
  }
  out += "  limits:       " + std::to_string(s.limits.max_streams) + " streams, " +
         std::to_string(s.limits.max_connections) + " connections, lines up to " +
         std::to_string(s.limits.max_line_bytes) + " bytes\n";
  for (const auto& model : models.models) out += DescribeModel(*model);
  if (const std::optional<std::string> warning = PerStreamRetrainWarning(s, models)) {
    out += "  warning:      " + *warning + "\n";
  }
  return out;
}

}  // namespace

core::Result<std::string> CheckConfig(const std::string& path) {
  auto settings = config::LoadSettings(path);
  if (!settings.ok()) return settings.status();
  auto models = LoadModelSet(*settings, nullptr);
  if (!models.ok()) return models.status().WithContext(path);
  // Certificates and keys that do not load fail here, not at start.
  if (auto tls = AlertmanagerTls(settings->alertmanager); !tls.ok()) return tls.status().WithContext(path);
  if (auto tls = RemoteWriteOutTls(settings->remote_write_out); !tls.ok()) return tls.status().WithContext(path);
  // Graphite templates are compiled at start; a bad one fails here too.
  if (settings->ingest.graphite.listen) {
    auto templates = GraphiteTemplates::Compile(settings->ingest.graphite.templates, settings->ingest.graphite.separator);
    if (!templates.ok()) return templates.status().WithContext(path);
  }
  return path + ": OK\n" + DescribeSettings(*settings, **models);
}

}  // namespace lstmad::daemon
