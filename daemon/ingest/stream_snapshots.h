// A stream as a snapshot and back: its window and sample count from ingest's
// StreamTable, its alert state and detector state from scoring's
// StreamStates. Network thread, with the scorer drained (the scoring state
// belongs to a worker otherwise).
#pragma once

#include <cstdint>
#include <string>

#include "ingest/snapshot.h"
#include "ingest/stream_table.h"
#include "scoring/stream_state.h"

namespace lstmad::daemon {

// With the detector's state goes the fingerprint of the model whose errors
// it judged last (StreamScoringState::detector_fingerprint).
StreamSnapshot SaveStream(const StreamTable& table, const StreamStates& states, uint32_t id,
                          const std::string& model);

// Puts the snapshot's window and alert state back into stream `id` (same
// shape). A stream with no alert state to restore gets no scoring state: an
// idle stream stays light. The detector's state needs the model's settings,
// so it is the caller's (Ingestor::Restore).
void LoadStream(const StreamSnapshot& snapshot, uint32_t id, StreamTable* table, StreamStates* states);

}  // namespace lstmad::daemon
