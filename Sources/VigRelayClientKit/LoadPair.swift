import Foundation
import VigRelayCore

/// One practitioner/family pair of `load` against a vigrelay, as a real session goes: create the
/// session, join both sides, the family consents, (with `--record`) the practitioner starts
/// recording, the family streams the camera (and the practitioner the screen, if asked), both
/// streams end with end of stream, the recording is stopped and flushed, both say bye. With
/// `--idle` both sides join and hold, sending nothing, until the run's `IdleHold` ends; then bye.
/// With `--connect-window` the pair joins once its worker's `ConnectGate` has a seat for it.
///
/// The family's connection lives on the worker's own loop, the practitioner's on the next worker's
/// loop (if there is one), so sending and receiving a pair's camera use two lws threads, as on two
/// machines.
///
/// Thread: `advance` and the other `LoadPairDriving` members run on the owning worker's driver
/// thread and own the state machine (`phase` and everything under "driver thread"). The session
/// observers (`LoadPairSide`) run on the lws threads: they feed media to the `LoadStream`s and
/// hand every other event over in `events` under `lock`, then `poke` the driver.
final class LoadPair: LoadPairDriving, @unchecked Sendable {
    private enum Phase: Int, Comparable {
        case pending, creating, waitingForSeat, joining, holding, consenting, startingRecording, streaming, draining
        case stoppingRecording, closing, done
        static func < (a: Phase, b: Phase) -> Bool { a.rawValue < b.rawValue }
    }

    let index: Int
    private let streams: LoadPairStreams
    private let plan: LoadPlan
    private let token: String
    private let familyLoop: ClientLoop
    private let practitionerLoop: ClientLoop
    private let stats: LoadStats
    private let poke: @Sendable () -> Void
    private let startAt: UInt64
    private let streamEnd: UInt64

    // Driver thread only.
    private var phase = Phase.pending
    private var deadline = UInt64.max
    private var created: CreatedSession?
    private var exchange: HTTPSExchange?
    private var createStarted: UInt64 = 0
    private var joinStarted: UInt64 = 0
    private var practitioner: SessionConnection?
    private var family: SessionConnection?
    private var timedOpen: Set<Role> = []
    private var timedWelcome: Set<Role> = []
    private var recordingID: String?
    private var recording: RecordingSummary?
    private var failure: LoadFailure?
    /// Why the session made before the run (`--idle`) could not be created; the pair fails with it.
    private let createFailure: LoadFailure?
    private var cancelled = false
    /// This pair's place in the worker's connect window (`--connect-window`), if there is one.
    private var seat: ConnectSeat
    /// With `--idle`: when to stop holding, set once every pair has connected.
    private let hold: IdleHold?
    /// Counted in `LoadStats.settled` (holding, or ended before).
    private var settled = false

    private let lock = NSLock()
    // Guarded by `lock`.
    private var events = LoadPairEvents()

    /// A pair that starts at `startAt` (monotonic ns) and streams until `streamEnd`. `created` is a
    /// session made already (the run's preflight, or every session with `--idle`), or nil to create
    /// one; `createFailure` says why the run could not make it (counted already).
    init(index: Int, plan: LoadPlan, token: String, familyLoop: ClientLoop, practitionerLoop: ClientLoop, stats: LoadStats,
         startAt: UInt64, streamEnd: UInt64, created: CreatedSession?, createFailure: LoadFailure? = nil,
         gate: ConnectGate? = nil, hold: IdleHold? = nil, poke: @escaping @Sendable () -> Void) {
        self.index = index
        self.plan = plan
        self.token = token
        self.familyLoop = familyLoop
        self.practitionerLoop = practitionerLoop
        self.stats = stats
        self.startAt = startAt
        self.streamEnd = streamEnd
        self.created = created
        self.createFailure = createFailure
        seat = ConnectSeat(gate: gate)
        self.hold = hold
        self.poke = poke
        streams = LoadPairStreams(plan: plan, pair: index, stats: stats)
    }

    // MARK: driver thread

    func advance(now: UInt64) -> UInt64? {
        let seen = takeEvents()
        noteTimings(seen)
        for error in seen.relayErrors {
            stats.count(error)
            fail(error, now: now, counted: true)
        }
        if phase > .pending, phase < .closing, failure == nil,
           let (role, ending) = seen.ended.first.map({ ($0.key, $0.value) }) {
            fail(ending ?? .client(.closedByRelay, "the relay closed the \(role.rawValue) connection with 1000 before the pair was done"), now: now)
        }
        while true {
            switch phase {
            case .pending:
                if now < startAt { return startAt }
                if let createFailure {
                    fail(createFailure, now: now, counted: true)
                } else if let created {
                    join(created, now: now)
                } else {
                    startCreating(now: now)
                }
            case .creating:
                guard let result = exchange?.result.current else {
                    if now >= deadline { fail(.client(.timeout, "no answer to POST /v1/sessions within \(Int(plan.answerSeconds)) s"), now: now) }
                    return deadline
                }
                if let session = readCreated(result, finished: seen.created, now: now) { join(session, now: now) }
            case .waitingForSeat:
                guard seat.state == .held, let created else { return now + 1_000_000_000 }  // poked when admitted
                startJoining(created, now: now)
            case .joining:
                if seen.welcomed.count == 2 { seat.release() }
                if seen.welcomed.count == 2, plan.idle {
                    settle()
                    streams.hold()
                    phase = .holding
                } else if seen.welcomed.count == 2 {
                    family?.sendControlNow(["type": "consent", "recording": true])
                    phase = .consenting
                    deadline = now + seconds(plan.answerSeconds)
                } else {
                    if now >= deadline {
                        let missing = [Role.practitioner, .family].filter { seen.welcomed[$0] == nil }.map(\.rawValue).joined(separator: " and ")
                        fail(.client(.timeout, "no welcome for the \(missing) within \(Int(plan.answerSeconds)) s"), now: now)
                        continue
                    }
                    return deadline
                }
            case .holding:
                if let hold {
                    guard let end = hold.end.current else { return now + 1_000_000_000 }  // not every pair is up yet
                    if now < end { return end }
                } else if now < streamEnd {
                    return streamEnd
                }
                streams.stop()
                startClosing(now: now)
            case .consenting:
                if seen.consentConfirmed {
                    if plan.record {
                        practitioner?.sendControlNow(["type": "record", "action": "start"])
                        phase = .startingRecording
                        deadline = now + seconds(plan.answerSeconds)
                    } else {
                        startStreaming(now: now)
                    }
                } else {
                    if now >= deadline {
                        fail(.client(.timeout, "the relay did not confirm the family's consent within \(Int(plan.answerSeconds)) s"), now: now)
                        continue
                    }
                    return deadline
                }
            case .startingRecording:
                if let id = seen.recordingStarted {
                    recordingID = id
                    startStreaming(now: now)
                } else {
                    if now >= deadline {
                        fail(.client(.timeout, "no answer to record start within \(Int(plan.answerSeconds)) s"), now: now)
                        continue
                    }
                    return deadline
                }
            case .streaming:
                let wake = streams.pump(now: now) { role, message, overLimit, notBefore in
                    (role == .family ? family : practitioner)?.sendNow(message, binary: true, overLimit: overLimit, notBefore: notBefore) ?? .closed
                }
                if checkStalls(now: now) { continue }
                if let wake { return wake }
                phase = .draining
            case .draining:
                if checkStalls(now: now) { continue }
                guard streams.ended else { return now + 1_000_000_000 }
                streams.stop()
                if recordingID != nil {
                    practitioner?.sendControlNow(["type": "record", "action": "stop"])
                    phase = .stoppingRecording
                    deadline = now + seconds(plan.recordStopSeconds)
                } else {
                    startClosing(now: now)
                }
            case .stoppingRecording:
                if let stopped = seen.recordingStopped {
                    recording = stopped
                    let sent = streams.camera.figures()
                    if stopped.frames != sent.framesSent || stopped.bytes != sent.payloadBytesSent {
                        fail(.client(.recordingIncomplete, "recording \(stopped.recordingID) holds \(stopped.frames) frames and \(stopped.bytes) bytes; "
                                     + "the camera sent \(sent.framesSent) frames and \(sent.payloadBytesSent) bytes after it started"), now: now)
                        continue
                    }
                    startClosing(now: now)
                } else if seen.recordingFailed {
                    let failed = LoadFailure.relay("recording_failed", "recording \(recordingID ?? "?") ended in state failed on the relay (see its log)")
                    fail(failed, now: now)
                } else {
                    if now >= deadline {
                        fail(.client(.timeout, "the relay did not report the recording stopped within \(Int(plan.recordStopSeconds)) s"), now: now)
                        continue
                    }
                    return deadline
                }
            case .closing:
                let open = [practitioner, family].compactMap { $0 }.count
                if seen.ended.count >= open {
                    phase = .done
                } else if now >= deadline {
                    if failure == nil, !cancelled {
                        fail(.client(.timeout, "the relay did not close the connections within 10 s of bye"), now: now)
                    }
                    phase = .done
                } else {
                    return deadline
                }
            case .done:
                return nil
            }
        }
    }

    func windDown(now: UInt64) {
        switch phase {
        case .pending, .creating, .waitingForSeat:
            cancelled = true
            exchange = nil
            phase = .done
            seat.release()
            settle()
        case .joining, .consenting, .startingRecording:
            cancelled = true
            seat.release()
            settle()
            startClosing(now: now)
        case .holding:
            streams.stop()
            startClosing(now: now)
        case .streaming:
            streams.finishNow(now)
        default:
            break
        }
    }

    func abort(now: UInt64) {
        guard phase != .done else { return }
        if failure == nil, !cancelled {
            let what = phase == .closing ? "closing" : "in phase \(phase)"
            let failure = LoadFailure.client(.deadline, "the run's hard deadline passed with the pair still \(what)")
            self.failure = failure
            stats.count(failure)
        }
        streams.stop()
        phase = .done
        seat.release()
        settle()
    }

    func outcome() -> LoadPairOutcome {
        let state: LoadPairOutcome.State = failure != nil ? .failed : cancelled ? .cancelled : phase == .done ? .completed : .failed
        lock.lock()
        let connected = events.opened.count == 2
        lock.unlock()
        return LoadPairOutcome(index: index, sessionID: created?.sessionID, state: state, failure: failure, connected: connected,
                               camera: streams.camera.figures(), screen: streams.screen?.figures(), recording: recording)
    }

    private func startCreating(now: UInt64) {
        let exchange = SessionCreator.request(loop: familyLoop, token: token, labels: SessionLabels(caseRef: "load-test"))
        exchange.onFinish = { [weak self, poke] in
            self?.note { $0.created = MonotonicClock.nanoseconds() }
            poke()
        }
        self.exchange = exchange
        createStarted = now
        phase = .creating
        deadline = now + seconds(plan.answerSeconds)
        familyLoop.open(exchange)
    }

    /// The session from the relay's answer, or nil after failing the pair.
    private func readCreated(_ result: Result<HTTPReply, ClientError>, finished: UInt64?, now: UInt64) -> CreatedSession? {
        exchange = nil
        switch SessionCreator.loadOutcome(result, waitedNanoseconds: now - createStarted) {
        case .success(let session):
            stats.timed(\.create, micros: ((finished ?? now) - createStarted) / 1000)
            return session
        case .failure(let failure):
            fail(failure, now: now)
            return nil
        }
    }

    /// Counts the pair as settled for the idle hold, once.
    private func settle() {
        guard !settled else { return }
        settled = true
        stats.settled()
    }

    /// Joins now if the connect window has a seat, else waits to be admitted (and poked).
    private func join(_ session: CreatedSession, now: UInt64) {
        created = session
        let admitted = seat.take { [weak self, poke] in
            guard let self, self.phase == .waitingForSeat else { return false }
            self.seat.admitted()
            poke()
            return true
        }
        if admitted {
            startJoining(session, now: now)
        } else {
            phase = .waitingForSeat
        }
    }

    private func startJoining(_ session: CreatedSession, now: UInt64) {
        created = session
        let invite: InviteLink
        do throws(ClientError) {
            invite = try InviteLink(parsing: session.inviteToken)
        } catch {
            fail(.client(.createFailed, "the relay's invite cannot be read: \(error)"), now: now)
            return
        }
        let practitioner = SessionConnection(loop: practitionerLoop, role: .practitioner, sessionID: session.sessionID, token: token,
                                             observer: LoadPairSide(pair: self, role: .practitioner, slowLinkBitsPerSecond: plan.slowDownload(pair: index, of: .camera)),
                                             writeTimeOffset: LoadStream.writeTimeOffset)
        let family = SessionConnection(loop: familyLoop, role: .family, sessionID: invite.sessionID, token: invite.token,
                                       observer: LoadPairSide(pair: self, role: .family, slowLinkBitsPerSecond: plan.slowDownload(pair: index, of: .screen)),
                                       writeTimeOffset: LoadStream.writeTimeOffset)
        self.practitioner = practitioner
        self.family = family
        joinStarted = now
        phase = .joining
        deadline = now + seconds(plan.answerSeconds)
        practitioner.start()
        family.start()
    }

    private func startStreaming(now: UInt64) {
        streams.begin(now: now, end: streamEnd)
        phase = .streaming
    }

    /// Fails the pair if a stream stalled; true when it did.
    private func checkStalls(now: UInt64) -> Bool {
        guard let reason = streams.stall(now: now, limitSeconds: plan.stallSeconds) else { return false }
        fail(.client(.stalled, reason), now: now)
        return true
    }

    /// Says bye on both connections; the relay then closes them with 1000.
    private func startClosing(now: UInt64) {
        family?.sendControlNow(["type": "bye"])
        practitioner?.sendControlNow(["type": "bye"])
        phase = .closing
        deadline = now + 10_000_000_000
    }

    /// Records the pair's first failure (counting it unless it was counted as it arrived) and winds
    /// the pair down: bye on whatever is open, then wait for the connections to end.
    private func fail(_ failure: LoadFailure, now: UInt64, counted: Bool = false) {
        guard self.failure == nil, phase != .done else { return }
        self.failure = failure
        if !counted { stats.count(failure) }
        streams.stop()
        seat.release()
        settle()
        if practitioner != nil || family != nil {
            if phase < .closing { startClosing(now: now) }
            deadline = min(deadline, now + 5_000_000_000)
        } else {
            phase = .done
        }
    }

    /// Records each connection's handshake and welcome times once.
    private func noteTimings(_ seen: LoadPairEvents) {
        if seen.opened.count > timedOpen.count {
            for (role, at) in seen.opened where timedOpen.insert(role).inserted {
                stats.timed(\.connect, micros: (at - min(at, joinStarted)) / 1000)
            }
        }
        if seen.welcomed.count > timedWelcome.count {
            for (role, at) in seen.welcomed where timedWelcome.insert(role).inserted {
                stats.welcomed(at: at, micros: (at - min(at, joinStarted)) / 1000)
            }
        }
    }

    private func seconds(_ value: Double) -> UInt64 { UInt64(value * 1e9) }

    /// A copy of what the lws threads saw; relay errors are taken (each is handled once).
    private func takeEvents() -> LoadPairEvents {
        lock.lock(); defer { lock.unlock() }
        let copy = events
        events.relayErrors.removeAll()
        return copy
    }

    // MARK: lws threads (through LoadPairSide, LoadPairSide.swift)

    /// Changes `events` under the lock. Any thread.
    func note(_ change: (inout LoadPairEvents) -> Void) {
        lock.lock()
        change(&events)
        lock.unlock()
    }

    func pokeDriver() { poke() }

    /// The stream this side receives (camera at the practitioner, screen at the family).
    func receivedStream(_ kind: MediaStream, at role: Role) -> LoadStream? { streams.received(kind, at: role) }
}
