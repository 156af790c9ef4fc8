import Hummingbird

/// Only the configured origins get `Access-Control-Allow-Origin`; others pass through without CORS headers.
struct OriginCORSMiddleware<Context: RequestContext>: RouterMiddleware {
    let origins: Set<String>
    let cors = CORSMiddleware<Context>(allowOrigin: .originBased, allowHeaders: [.contentType, .xAPIKey, .authorization], allowMethods: [.get, .post, .delete, .options])

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], origins.contains(origin) else { return try await next(request, context) }
        return try await cors.handle(request, context: context, next: next)
    }
}
