import Bus
import Foundation

/// Publishes trace events on a service's PUB socket.
public struct TraceRecorder: Sendable {
    public let publisher: Publisher
    public let service: ServiceName

    public init(publisher: Publisher, service: ServiceName) {
        self.publisher = publisher
        self.service = service
    }

    @discardableResult
    public func record(_ id: String, kind: TraceKind, stage: TraceStage, detail: String? = nil, time: Double = ServiceSupport.now()) -> TraceEvent {
        let event = TraceEvent(id: id, kind: kind, stage: stage, service: service, time: time, detail: detail)
        // Encoded only when someone subscribes (the edge does while a WebSocket client is connected).
        _ = try? publisher.publish(topic: Topic.trace, ifSubscribed: { try JSON.encode(event) })
        return event
    }
}
