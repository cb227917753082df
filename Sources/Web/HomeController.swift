import Foundation
import Hummingbird
import Ingest
import Store

/// The overview: the latest messages and the import under way.
struct HomeController {
    let db: AppDatabase
    let progress: ImportProgress
    let pages: Pages

    func addRoutes(to router: some RouterMethods<AppRequestContext>) {
        router.get("/", use: home)
    }

    @Sendable func home(_ request: Request, context: AppRequestContext) async throws -> Response {
        let l = context.localizer
        let rows = try db.latestDeliveries(limit: 50)
        var values: [String: Any] = ["navHome": true, "hasRows": !rows.isEmpty]
        values["rows"] = rows.map { r -> [String: Any] in
            ["time": l.dateTime(r.firstSeen), "sender": r.sender.map { $0.isEmpty ? "<>" : $0 } ?? "",
             "recipient": r.recipient ?? "", "status": l.t(r.status), "statusClass": r.status, "queueID": r.queueID]
        }
        let p = progress.snapshot
        if p.filesTotal > 0 && p.filesDone < p.filesTotal {
            values["importing"] = l.t("Importing logs: {{done}} of {{total}} files, {{lines}} lines so far.",
                                      ["done": l.number(p.filesDone), "total": l.number(p.filesTotal), "lines": l.number(Int(p.lines))])
        }
        return pages.render("home", values, context: context)
    }
}
