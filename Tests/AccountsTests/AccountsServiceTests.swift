@testable import Accounts
import Foundation
import Logging
import NodeKit
import Testing

/// `accounts.rpc`'s router (AccountsService.swift, Portal.swift) against its method enum.
@Suite struct AccountsServiceTests {
    @Test func theRouterAnswersExactlyTheAccountsMethods() async throws {
        try await AccountsTests.withStore { store in
            let service = AccountsService(store: store, publisher: nil, logger: Logger(label: "test"))
            let router = service.router()
            #expect(router.methodNames == AccountsMethod.allCases.map(\.rawValue).sorted())
            let request = try JSON.encode(RequestEnvelope(method: AccountsMethod.getstatus.rawValue, params: Empty()))
            let reply = try JSON.decode(ReplyEnvelope<ServiceStatus>.self, await router.handle(request))
            #expect(reply.result?.service == ServiceName.accounts.rawValue)
        }
    }
}
