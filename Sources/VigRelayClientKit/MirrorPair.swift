import Foundation
import VigRelayCore

/// One pair of `load --mode mirror`: two plain WebSocket connections (no subprotocol, no hello) to
/// another relay, which must forward what one sends to the other (see `MirrorTarget` for the
/// pairing rule). The "family" socket sends the camera frames and the "practitioner" socket
/// receives them (and the screen stream the other way, if asked), with the same frames,
/// verification and figures as a vigrelay pair. It ends by closing both sockets with 1000 once
/// every end-of-stream frame arrived.
///
/// Thread: `advance` and the other `LoadPairDriving` members on the owning worker's driver thread;
/// the sockets' handlers (`MirrorSide`) on lws threads, handing events over in `events` under `lock`.
final class MirrorPair: LoadPairDriving, @unchecked Sendable {
    private enum Phase: Int, Comparable {
        case pending, connecting, streaming, draining, closing, done
        static func < (a: Phase, b: Phase) -> Bool { a.rawValue < b.rawValue }
    }

    fileprivate struct Events {
        var opened: [Role: UInt64] = [:]
        var ended: [Role: LoadFailure] = [:]
    }

    let index: Int
    /// The `pair=` value both sockets send.
    let pairID: String
    private let streams: LoadPairStreams
    private let plan: LoadPlan
    private let target: MirrorTarget
    private let familyLoop: ClientLoop
    private let practitionerLoop: ClientLoop
    private let stats: LoadStats
    private let poke: @Sendable () -> Void
    private let startAt: UInt64
    private let streamEnd: UInt64

    // Driver thread only.
    private var phase = Phase.pending
    private var deadline = UInt64.max
    private var connectStarted: UInt64 = 0
    private var sockets: [Role: WebSocketClientConnection] = [:]
    /// The sockets' handlers: a socket holds its handler weakly, so the pair keeps them.
    private var handlers: [AnyObject] = []
    private var loops: [Role: ClientLoop] = [:]
    private var timed: Set<Role> = []
    private var failure: LoadFailure?
    private var cancelled = false

    private let lock = NSLock()
    // Guarded by `lock`.
    private var events = Events()

    init(index: Int, pairID: String, plan: LoadPlan, target: MirrorTarget, familyLoop: ClientLoop, practitionerLoop: ClientLoop,
         stats: LoadStats, startAt: UInt64, streamEnd: UInt64, poke: @escaping @Sendable () -> Void) {
        self.index = index
        self.pairID = pairID
        self.plan = plan
        self.target = target
        self.familyLoop = familyLoop
        self.practitionerLoop = practitionerLoop
        self.stats = stats
        self.startAt = startAt
        self.streamEnd = streamEnd
        self.poke = poke
        streams = LoadPairStreams(plan: plan, pair: index, stats: stats)
    }

    // MARK: driver thread

    func advance(now: UInt64) -> UInt64? {
        lock.lock()
        let seen = events
        lock.unlock()
        for (role, at) in seen.opened where timed.insert(role).inserted {
            stats.timed(\.connect, micros: (at - min(at, connectStarted)) / 1000)
        }
        if phase > .pending, phase < .closing, let ended = seen.ended.first?.value {
            fail(ended, now: now)
        }
        while true {
            switch phase {
            case .pending:
                if now < startAt { return startAt }
                connect(now: now)
            case .connecting:
                if seen.opened.count == 2 {
                    streams.begin(now: now, end: streamEnd)
                    phase = .streaming
                } else {
                    if now >= deadline {
                        fail(.client(.connectFailed, "the WebSocket handshakes did not complete within \(Int(plan.answerSeconds)) s"), now: now)
                        continue
                    }
                    return deadline
                }
            case .streaming:
                let wake = streams.pump(now: now) { role, message, overLimit, notBefore in
                    send(message, overLimit: overLimit, notBefore: notBefore, from: role)
                }
                if checkStalls(now: now) { continue }
                if let wake { return wake }
                phase = .draining
            case .draining:
                if checkStalls(now: now) { continue }
                guard streams.ended else { return now + 1_000_000_000 }
                startClosing(now: now)
            case .closing:
                if seen.ended.count >= sockets.count || now >= deadline {
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
        case .pending:
            cancelled = true
            phase = .done
        case .connecting:
            cancelled = true
            startClosing(now: now)
        case .streaming:
            streams.finishNow(now)
        default:
            break
        }
    }

    func abort(now: UInt64) {
        guard phase != .done else { return }
        if failure == nil, !cancelled, phase != .closing {
            let failure = LoadFailure.client(.deadline, "the run's hard deadline passed with the pair still in phase \(phase)")
            self.failure = failure
            stats.count(failure)
        }
        streams.stop()
        phase = .done
    }

    func outcome() -> LoadPairOutcome {
        lock.lock()
        let connected = events.opened.count == 2
        lock.unlock()
        let state: LoadPairOutcome.State = failure != nil ? .failed : cancelled ? .cancelled : phase == .done ? .completed : .failed
        return LoadPairOutcome(index: index, sessionID: pairID, state: state, failure: failure, connected: connected,
                               camera: streams.camera.figures(), screen: streams.screen?.figures(), recording: nil)
    }

    private func connect(now: UInt64) {
        connectStarted = now
        phase = .connecting
        deadline = now + UInt64(plan.answerSeconds * 1e9)
        for (role, loop) in [(Role.practitioner, practitionerLoop), (.family, familyLoop)] {
            let handler = MirrorSide(pair: self, role: role)
            handlers.append(handler)
            let socket = WebSocketClientConnection(loop: loop, path: target.path(pair: pairID, side: role), handler: handler, subprotocol: nil,
                                                   writeTimeOffset: LoadStream.writeTimeOffset)
            sockets[role] = socket
            loops[role] = loop
        }
        // Receiver first, so a relay that registers sockets as they arrive knows it before frames come.
        for role in [Role.practitioner, .family] { loops[role]?.open(sockets[role]!) }
    }

    private func send(_ message: [UInt8], overLimit: Bool, notBefore: UInt64, from role: Role) -> TransmitQueue.PushOutcome {
        guard let socket = sockets[role], let loop = loops[role] else { return .closed }
        return loop.enqueue(message, binary: true, overLimit: overLimit, notBefore: notBefore, on: socket.transmit, id: socket.id)
    }

    private func checkStalls(now: UInt64) -> Bool {
        guard let reason = streams.stall(now: now, limitSeconds: plan.stallSeconds) else { return false }
        fail(.client(.stalled, reason), now: now)
        return true
    }

    private func startClosing(now: UInt64) {
        streams.stop()
        for socket in sockets.values { socket.closeSoon(code: 1000, reason: "done") }
        phase = .closing
        deadline = now + 5_000_000_000
    }

    private func fail(_ failure: LoadFailure, now: UInt64) {
        guard self.failure == nil, phase != .done else { return }
        self.failure = failure
        stats.count(failure)
        if sockets.isEmpty { phase = .done } else if phase < .closing { startClosing(now: now) }
    }

    // MARK: lws threads (through MirrorSide)

    fileprivate func note(_ change: (inout Events) -> Void) {
        lock.lock()
        change(&events)
        lock.unlock()
        poke()
    }

    fileprivate func receivedStream(_ kind: MediaStream, at role: Role) -> LoadStream? { streams.received(kind, at: role) }
}

/// One socket's handler for a `MirrorPair`, reaching the pair weakly (the pair owns the socket).
///
/// Thread: the socket's lws thread.
private final class MirrorSide: WebSocketClientHandler, @unchecked Sendable {
    private weak var pair: MirrorPair?
    private let role: Role

    init(pair: MirrorPair, role: Role) {
        self.pair = pair
        self.role = role
    }

    var readyToReceive: Bool { true }

    func webSocketOpened(_ connection: WebSocketClientConnection) {
        let now = MonotonicClock.nanoseconds()
        pair?.note { $0.opened[self.role] = now }
    }

    func webSocket(_ connection: WebSocketClientConnection, received message: [UInt8], binary: Bool) {
        guard binary, let pair, let header = try? MediaFrameHeader.parse(message), let kind = header.streamKind,
              let stream = pair.receivedStream(kind, at: role)
        else { return }
        if stream.receive(header, message: message, now: MonotonicClock.nanoseconds()) { pair.note { _ in } }
    }

    func webSocket(_ connection: WebSocketClientConnection, ended: ConnectionEnding) {
        let failure = LoadFailure.connectionEnded("\(role == .family ? "sending" : "receiving") mirror", ended, relayError: nil)
        pair?.note { $0.ended[self.role] = failure }
    }
}
