"""Building blocks for invented tools: actions x objects x a parameter bank (pure data + small samplers).

An invented tool is one action applied to one object ("archive" x "invoice"), with parameters drawn from the
object's fields, each given one of several names, and a name built from synonym vocabularies that usually differ
from the words used in the query. The objects are business/app records that do not overlap the hand-authored
consumer domains, so an invented tool never serves a hand-authored tool's request (and vice versa).
"""
from __future__ import annotations

from . import pools as PL
from .spec import Bool, Enum
from .values import Kind, KINDS, get_kind, make_list


def _c(rng, seq):
    return seq[rng.randrange(len(seq))]


# ------------------------------------------------------------------------------------------ extra value samplers
def code_sampler(prefix: str):
    def f(rng):
        n = rng.randrange(100, 99999)
        style = rng.randrange(4)
        s = (f"{prefix}-{n}", f"{prefix}{n}", f"{prefix}-{n}", str(n))[style]
        return s, s
    return f


def _combo(a, b, sep=" "):
    def f(rng):
        s = f"{_c(rng, a)}{sep}{_c(rng, b)}"
        return s, s
    return f


HOST_A = ("web", "api", "db", "cache", "worker", "auth", "search", "edge", "batch", "ml", "queue", "mail")
REPO_A = ("payments", "mobile", "frontend", "infra", "docs", "billing", "search", "auth", "analytics", "design-system")
REPO_B = ("service", "app", "api", "web", "core", "sdk", "tools", "lib", "cli", "pipeline")
SERVICES = ("checkout", "user-profile", "notifications", "inventory", "recommendations", "billing", "gateway", "search")
TICKET_TITLES = ("login page times out", "export button broken", "dark mode colors wrong", "password reset email missing",
                 "slow dashboard load", "crash on startup", "typo on pricing page", "sync fails on Android",
                 "invoice PDF cut off", "cannot upload avatar", "search returns duplicates", "broken link in footer")
DEAL_NAMES = ("Acme renewal", "Globex expansion", "Initech pilot", "Umbrella upgrade", "Northwind annual plan",
              "Contoso migration", "Stark enterprise deal", "Wayne add-on seats")
SKU_SAMPLER = code_sampler("SKU")
METRICS = ("cpu_usage", "memory", "error_rate", "latency_p95", "disk_usage", "request_count", "queue_depth")
CROPS = ("wheat", "corn", "soybeans", "tomatoes", "barley", "potatoes", "lettuce", "apples", "grapes", "rice")
SKILLS = ("Python", "SQL", "negotiation", "customer service", "forklift", "Spanish", "project management", "Excel")
GAMERTAGS = ("NightOwl42", "PixelKnight", "ShadowFox", "LagWizard", "QuietStorm", "TurboTaco", "FrostByte", "NovaAce")
SAMPLE_TYPES = ("blood", "saliva", "soil", "water", "tissue", "plasma")
REAGENTS = ("ethanol", "agarose", "PBS buffer", "sodium chloride", "Taq polymerase", "acetone", "glucose")
VENUES = ("Riverside Hall", "The Loft", "Grand Ballroom", "Rooftop Terrace", "Community Center", "Studio 9", "Oak Barn")
WIKI_SPACES = ("Engineering", "Onboarding", "Sales Playbook", "Design", "Support", "Security", "Finance")
BLOG_TITLES = ("10 tips for remote teams", "Our 2026 roadmap", "How we cut costs by 30%", "Meet the team",
               "Release notes for v3.2", "A guide to better sleep", "Why we moved to Rust", "Spring sale is here")
INCIDENT_SUMMARIES = ("checkout latency spike", "database failover", "login outage in EU", "payment webhook errors",
                      "CDN cache misses", "memory leak in worker", "elevated 500 errors", "DNS resolution failures")
CAMPAIGNS = ("Spring Sale", "Back to School", "Black Friday", "Product Launch", "Summer Webinar", "Holiday Giveaway")
BRANCHES = ("main", "develop", "release/3.2", "feature/login", "hotfix/payments", "staging")
REASONS = ("it was a duplicate", "the customer asked for it", "it is no longer needed", "it was created by mistake",
           "the project was cancelled", "the details were wrong", "budget cuts", "it failed review",
           "the client changed their mind", "it is out of date", "legal asked us to", "the deadline moved")
DOMAINS_WEB = ("example.com", "shop.acme.io", "api.northwind.dev", "blog.lumen.org", "status.orbit.net")

for _name, _kind in {
    "hostname": Kind("string", lambda r: (lambda s: (s, s))(f"{_c(r, HOST_A)}-{r.randrange(1, 40):02d}")),
    "repo": Kind("string", _combo(REPO_A, REPO_B, "-")),
    "service": Kind("string", lambda r: (lambda s: (s, s))(_c(r, SERVICES))),
    "ticket_title": Kind("string", lambda r: (lambda s: (s, s))(_c(r, TICKET_TITLES)), text=True),
    "deal_name": Kind("string", lambda r: (lambda s: (s, s))(_c(r, DEAL_NAMES)), text=True),
    "sku": Kind("string", SKU_SAMPLER),
    "metric": Kind("string", lambda r: (lambda s: (s, s))(_c(r, METRICS))),
    "crop": Kind("string", lambda r: (lambda s: (s, s))(_c(r, CROPS)), text=True),
    "skill": Kind("string", lambda r: (lambda s: (s, s))(_c(r, SKILLS)), text=True),
    "gamertag": Kind("string", lambda r: (lambda s: (s, s))(_c(r, GAMERTAGS))),
    "sample_type": Kind("string", lambda r: (lambda s: (s, s))(_c(r, SAMPLE_TYPES)), text=True),
    "reagent": Kind("string", lambda r: (lambda s: (s, s))(_c(r, REAGENTS)), text=True),
    "venue": Kind("string", lambda r: (lambda s: (s, s))(_c(r, VENUES)), text=True),
    "wiki_space": Kind("string", lambda r: (lambda s: (s, s))(_c(r, WIKI_SPACES))),
    "blog_title": Kind("string", lambda r: (lambda s: (s, s))(_c(r, BLOG_TITLES)), text=True),
    "incident_summary": Kind("string", lambda r: (lambda s: (s, s))(_c(r, INCIDENT_SUMMARIES)), text=True),
    "campaign": Kind("string", lambda r: (lambda s: (s, s))(_c(r, CAMPAIGNS)), text=True),
    "branch": Kind("string", lambda r: (lambda s: (s, s))(_c(r, BRANCHES))),
    "reason": Kind("string", lambda r: (lambda s: (s, s))(_c(r, REASONS)), text=True),
    "web_domain": Kind("string", lambda r: (lambda s: (s, s))(_c(r, DOMAINS_WEB))),
    "list_skill": Kind("array", make_list(lambda r: (lambda s: (s, s))(_c(r, SKILLS)), 2, 3), items="string"),
    "list_tag": Kind("array", make_list(lambda r: (lambda s: (s, s))(_c(r, ("urgent", "bug", "billing", "vip", "q3",
                                                                            "backend", "ui", "follow-up", "legal"))),
                                        2, 3), items="string"),
}.items():
    KINDS.setdefault(_name, _kind)


# ------------------------------------------------------------------------------------------ parameter bank
class Field:
    """A parameter concept: kind, candidate names, descriptions (short, long), query phrases ("{v}" = value)."""
    __slots__ = ("key", "kind", "names", "descs", "phrases")

    def __init__(self, key, kind, names, descs, phrases):
        self.key, self.names, self.descs, self.phrases = key, tuple(names), tuple(descs), tuple(phrases)
        self.kind = get_kind(kind) if isinstance(kind, str) else kind


PRIORITY = Enum("low=low|low-priority", "medium=medium|normal", "high=high|urgent", "critical=critical|P0")
STATUS = Enum("open", "in_progress=in progress", "blocked", "done=done|closed")
F = Field
BANK = {f.key: f for f in (
    F("assignee", "person", ("assignee", "owner", "assigned_to", "assignee_name", "responsible", "handler"),
      ("Person it is assigned to", "Name of the team member who should handle it"),
      ("assigned to {v}", "for {v}", "and give it to {v}", "owned by {v}")),
    F("priority", PRIORITY, ("priority", "prio", "urgency", "priority_level", "importance"),
      ("Priority", "How urgent it is"), ("with {v} priority", "as {v}", "marked {v}", "{v} priority")),
    F("status", STATUS, ("status", "state", "stage", "new_status"), ("Status", "Workflow state"),
      ("with status {v}", "to {v}", "as {v}")),
    F("due_date", "date_iso", ("due_date", "due", "deadline", "due_on", "date_due"),
      ("Due date (YYYY-MM-DD)", "Deadline in ISO format YYYY-MM-DD"), ("due {v}", "by {v}", "with a deadline of {v}")),
    F("start_date", "date_iso", ("start_date", "start", "begins_on", "from_date", "start_day"),
      ("Start date, YYYY-MM-DD", "First day in ISO 8601 date format"), ("starting {v}", "from {v}", "beginning {v}")),
    F("end_date", "date_iso", ("end_date", "end", "until", "to_date", "ends_on"),
      ("End date, YYYY-MM-DD", "Last day (ISO date)"), ("until {v}", "ending {v}", "through {v}")),
    F("date", "date_iso", ("date", "day", "on_date", "scheduled_date", "when"),
      ("Date (YYYY-MM-DD)", "Calendar date in YYYY-MM-DD format"), ("on {v}", "for {v}")),
    F("time", "time24", ("time", "at", "start_time", "time_of_day", "slot"), ("Time HH:MM (24h)", "24-hour time"),
      ("at {v}",)),
    F("amount", "money", ("amount", "value", "total", "sum", "price", "amount_usd"), ("Amount", "Monetary amount"),
      ("for {v}", "of {v}", "worth {v}")),
    F("quantity", "quantity", ("quantity", "qty", "count", "units", "num_units", "amount"), ("How many", "Number of units"),
      ("quantity {v}", "x{v}", "{v} units of it")),
    F("email", "email", ("email", "email_address", "contact_email", "mail"), ("Email", "Email address"),
      ("with email {v}", "at {v}", "reachable at {v}")),
    F("phone", "phone", ("phone", "phone_number", "tel", "mobile"), ("Phone", "Phone number"), ("phone {v}", "at {v}")),
    F("person_name", "full_name", ("name", "full_name", "person", "contact_name", "display_name"),
      ("Full name", "Person's full name"), ("for {v}", "named {v}", "called {v}")),
    F("company", "company", ("company", "organization", "org", "client", "account_name", "customer"),
      ("Company", "Company or organization name"), ("at {v}", "from {v}", "for {v}")),
    F("note", "message", ("note", "comment", "notes", "memo", "remarks", "message"), ("Free-text note", "Optional comment"),
      ("with the note {v}", "saying {v}", "noting {v}")),
    F("reason", "reason", ("reason", "why", "cause", "justification"), ("Reason", "Why this is done"),
      ("because {v}", "with reason {v}", "since {v}")),
    F("notify", Bool("and notify everyone|and let people know|with a notification", "without notifying anyone|quietly"),
      ("notify", "send_notification", "notify_watchers", "alert_users", "silent"), ("Notify subscribers", "Send notifications"),
      ("{v}",)),
    F("recipient_email", "email", ("recipient", "to", "email", "share_with", "recipient_email", "target_email"),
      ("Recipient email", "Email address of the recipient"), ("to {v}", "with {v}")),
    F("recipient", "person", ("recipient", "to", "user", "share_with", "target_user"), ("Recipient", "Who receives it"),
      ("to {v}", "with {v}")),
    F("format", Enum("pdf=PDF|pdf", "csv=CSV|csv", "xlsx=Excel|xlsx", "json=JSON|json"),
      ("format", "file_format", "export_format", "type", "output"), ("Output format", "File format of the export"),
      ("as {v}", "in {v} format", "to {v}")),
    F("folder", "folder", ("folder", "destination", "target_folder", "path", "directory", "location"),
      ("Destination folder", "Folder to move it to"), ("under {v}", "into {v}", "to {v}")),
    F("new_name", "note_title", ("new_name", "name", "new_title", "title", "rename_to"), ("New name", "The new title"),
      ("to {v}", "as {v}")),
    F("limit", "small_count", ("limit", "max_results", "count", "top_n", "page_size", "n"), ("Max results", "Number of items to return"),
      ("top {v}", "only {v} of them", "first {v}", "limit {v}")),
    F("sort", Enum("newest=newest first|most recent first", "oldest=oldest first", "name=alphabetically|by name"),
      ("sort", "sort_by", "order", "order_by", "sorting"), ("Sort order", "How to order results"), ("sorted {v}", "{v}")),
    F("tags", "list_tag", ("tags", "labels", "tag_list", "categories"), ("Tags", "List of tags to attach"),
      ("tagged {v}", "with tags {v}", "labeled {v}")),
    F("region", Enum("us-east=US East|us-east", "eu-west=EU West|Europe", "ap-south=Asia Pacific|ap-south"),
      ("region", "zone", "location", "datacenter"), ("Region", "Deployment region"), ("in {v}",)),
    F("size", Enum("small", "medium", "large", "xlarge=extra large|xlarge"), ("size", "tier", "instance_size", "plan"),
      ("Size", "Instance size"), ("{v} sized", "size {v}", "as a {v} one")),
    F("environment", Enum("dev=dev|development", "staging", "production=production|prod"),
      ("environment", "env", "stage", "target_env"), ("Environment", "Target environment"), ("in {v}", "on {v}", "to {v}")),
    F("version", "int:1:40", ("version", "release", "build_number", "rev"), ("Version number", "Release number"),
      ("version {v}", "v{v}", "release {v}")),
    F("threshold", "num:1:99:1", ("threshold", "limit_value", "max_value", "trigger_at"), ("Threshold", "Alert threshold"),
      ("above {v}", "over {v}", "at {v}")),
    F("percent", "percent", ("percent", "percentage", "rollout", "ratio_percent"), ("Percentage 0-100", "Percent"),
      ("at {v}", "to {v}")),
    F("enabled", Bool("on|enabled|switched on", "off|disabled|switched off"), ("enabled", "active", "is_enabled", "on", "state"),
      ("Enabled", "Turn it on or off"), ("{v}", "turned {v}")),
    F("public", Bool("public|visible to everyone", "private|hidden"), ("public", "is_public", "visible", "published"),
      ("Public", "Visible to everyone"), ("{v}", "as {v}")),
    F("weight", "num:0.5:80:1", ("weight_kg", "weight", "kg", "mass"), ("Weight in kg", "Package weight (kg)"),
      ("weighing {v} kg", "{v} kg")),
    F("address", "address", ("address", "destination", "ship_to", "delivery_address", "location"),
      ("Address", "Street address"), ("at {v}", "to {v}")),
    F("city", "city", ("city", "location", "place", "town"), ("City", "City name"), ("in {v}", "based in {v}")),
    F("product", "product", ("product", "item", "product_name", "article"), ("Product", "Product name"), ("for {v}", "of {v}")),
    F("duration", "minutes", ("duration", "minutes", "length", "duration_min", "mins"), ("Length in minutes", "Duration (minutes)"),
      ("for {v}", "lasting {v}")),
    F("hours", "num:0.5:12:1", ("hours", "hours_worked", "time_spent", "duration_hours"), ("Hours", "Number of hours"),
      ("{v} hours", "for {v} hours")),
    F("count", "int:2:500", ("count", "capacity", "size", "max_people", "seats"), ("Count", "Maximum number"),
      ("for {v}", "with room for {v}", "capacity {v}")),
    F("score", "num:0:100:1", ("score", "points", "grade", "mark", "result"), ("Score", "Score 0-100"), ("of {v}", "with {v} points")),
    F("rating", "int:1:5", ("rating", "stars", "score"), ("Rating 1-5", "Star rating"), ("{v} stars", "rated {v}")),
    F("job_title", "job_title", ("title", "job_title", "role", "position"), ("Job title", "Role"), ("for a {v} role", "as a {v}")),
    F("department", "work_team", ("department", "team", "dept", "group", "unit"), ("Department", "Team"), ("in {v}", "on the {v} team")),
    F("skills", "list_skill", ("skills", "required_skills", "competencies"), ("Skills", "Required skills"), ("requiring {v}", "with skills {v}")),
    F("remote", Bool("remote|fully remote", "on-site|in the office"), ("remote", "is_remote", "remote_ok"), ("Remote", "Remote allowed"),
      ("{v}",)),
    F("carrier", Enum("ups=UPS", "fedex=FedEx", "dhl=DHL", "usps=USPS|the post office"), ("carrier", "shipper", "courier"),
      ("Carrier", "Shipping carrier"), ("via {v}", "with {v}")),
    F("express", Bool("express|overnight|expedited", "standard|ground"), ("express", "expedite", "priority_shipping"),
      ("Express shipping", "Expedited delivery"), ("{v}",)),
    F("currency", Enum("USD=USD|dollars", "EUR=EUR|euros", "GBP=GBP|pounds"), ("currency", "ccy", "currency_code"),
      ("Currency", "ISO currency code"), ("in {v}",)),
    F("title", "ticket_title", ("title", "summary", "subject", "headline", "name"), ("Title", "Short summary"),
      ("titled {v}", "called {v}", "about {v}", ": {v}")),
    F("description", "message", ("description", "details", "body", "content", "text"), ("Description", "Longer text"),
      ("saying {v}", "with details {v}", "describing {v}")),
    F("url", "url", ("url", "link", "href", "website"), ("URL", "Link"), ("at {v}", "linking {v}")),
    F("branch", "branch", ("branch", "ref", "git_ref", "branch_name"), ("Branch", "Git branch"), ("on {v}", "from {v}")),
    F("service", "service", ("service", "app", "service_name", "component"), ("Service", "Service name"), ("for {v}", "of {v}")),
    F("metric", "metric", ("metric", "signal", "metric_name", "measure"), ("Metric", "Metric name"), ("on {v}", "for {v}")),
    F("severity", Enum("sev1=sev1|SEV-1|critical", "sev2=sev2|major", "sev3=sev3|minor"), ("severity", "sev", "level", "impact"),
      ("Severity", "Incident severity"), ("with severity {v}", "as {v}")),
    F("crop", "crop", ("crop", "plant", "crop_type", "variety"), ("Crop", "Crop type"), ("for {v}", "of {v}")),
    F("venue", "venue", ("venue", "location", "place", "hall"), ("Venue", "Venue name"), ("at {v}", "in {v}")),
    F("channel_pick", Enum("email", "sms=SMS|text", "social=social media|social", "ads=paid ads|ads"),
      ("channel", "medium", "via", "delivery_channel"), ("Channel", "Delivery channel"), ("via {v}", "over {v}")),
    F("plan", Enum("free", "pro", "team", "enterprise"), ("plan", "tier", "subscription_plan", "package"), ("Plan", "Plan tier"),
      ("on the {v} plan", "to {v}")),
    F("seats", "int:1:500", ("seats", "licenses", "users", "seat_count"), ("Seats", "Number of seats"), ("with {v} seats", "for {v} users")),
    F("gamertag", "gamertag", ("gamertag", "player", "username", "handle", "player_id"), ("Player", "Gamertag"), ("for {v}", "player {v}")),
    F("sample_type", "sample_type", ("sample_type", "type", "specimen"), ("Sample type", "Kind of specimen"), ("of {v}",)),
    F("temperature_c", "int:-80:40", ("temperature_c", "temp", "storage_temp", "celsius"), ("Temperature in C", "Storage temperature (Celsius)"),
      ("at {v} degrees", "stored at {v} C")),
    F("reagent", "reagent", ("reagent", "chemical", "material", "item"), ("Reagent", "Chemical name"), ("of {v}", "for {v}")),
    F("space", "wiki_space", ("space", "section", "wiki", "namespace"), ("Space", "Wiki space"), ("in {v}", "under {v}")),
    F("web_domain", "web_domain", ("domain", "hostname", "zone", "site"), ("Domain", "Domain name"), ("for {v}", "on {v}")),
    F("metric_value", "int:1:100", ("replicas", "instances", "count", "scale_to"), ("Replica count", "Number of instances"),
      ("with {v} instances", "to {v}")),
)}


# ------------------------------------------------------------------------------------------ objects
class Obj:
    """A record type: name words (for tool names), query nouns, id field (key, kind, names), fields, domain."""
    __slots__ = ("key", "names", "nouns", "plural", "id_kind", "id_names", "fields", "domain", "id_code")

    def __init__(self, key, names, nouns, plural, id_kind, id_names, fields, domain):
        self.key, self.names, self.nouns, self.plural = key, tuple(names.split("|")), tuple(nouns.split("|")), plural
        self.id_kind = get_kind(id_kind) if isinstance(id_kind, str) else Kind("string", id_kind)
        # code-like ids ("TK-123") may be written "#TK-123" / "number TK-123"; names ("Acme renewal") may not
        self.id_code = not isinstance(id_kind, str) or id_kind == "tracking_number" or id_kind.startswith("int:")
        self.id_names = tuple(id_names.split("|"))
        self.fields = tuple(fields.split())
        self.domain = domain


O = Obj
OBJECTS = (
    O("ticket", "ticket|issue|case", "ticket|support ticket|issue|case", "tickets", code_sampler("TK"), "ticket_id|id|issue_id|case_number",
      "title priority assignee description tags due_date", "support"),
    O("incident", "incident|outage", "incident|outage", "incidents", code_sampler("INC"), "incident_id|id|incident_number",
      "title severity assignee service description", "devops"),
    O("server", "server|instance|vm|host", "server|instance|VM|box", "servers", "hostname", "hostname|server_id|instance|host",
      "region size environment tags", "devops"),
    O("deployment", "deployment|release|rollout", "deployment|release", "deployments", code_sampler("DEP"), "deployment_id|id|release_id",
      "service environment version branch notify", "devops"),
    O("repository", "repository|repo|project_repo", "repository|repo", "repositories", "repo", "repo|repository|repo_name|name",
      "description public branch tags", "devops"),
    O("build", "build|pipeline_run|ci_job", "build|CI run|pipeline", "builds", code_sampler("BLD"), "build_id|run_id|id",
      "branch service notify", "devops"),
    O("alert_rule", "alert_rule|alert|monitor", "alert|monitor|alert rule", "alerts", code_sampler("ALR"), "alert_id|monitor_id|id",
      "metric threshold service severity", "devops"),
    O("dns_record", "dns_record|record|dns_entry", "DNS record|DNS entry", "DNS records", "web_domain", "domain|hostname|record",
      "url region notify", "devops"),
    O("feature_flag", "feature_flag|flag|toggle", "feature flag|flag|toggle", "feature flags", code_sampler("FF"), "flag|flag_key|key",
      "enabled percent environment", "devops"),
    O("lead", "lead|prospect", "lead|prospect", "leads", code_sampler("LD"), "lead_id|id|prospect_id",
      "person_name company email phone status note", "crm"),
    O("deal", "deal|opportunity|opp", "deal|opportunity", "deals", "deal_name", "deal|deal_name|opportunity",
      "amount status due_date assignee note", "crm"),
    O("customer_account", "account|customer|client_account", "customer account|account|client", "accounts", "company",
      "account|customer|account_name|company", "plan seats email note", "crm"),
    O("campaign", "campaign|marketing_campaign", "campaign|marketing campaign", "campaigns", "campaign", "campaign|campaign_name|name",
      "amount start_date end_date channel_pick", "marketing"),
    O("employee", "employee|staff|worker|team_member", "employee|staff member|team member", "employees", code_sampler("EMP"),
      "employee_id|staff_id|id", "person_name department job_title start_date email", "hr"),
    O("leave_request", "leave_request|time_off|pto_request|absence", "time-off request|leave request|PTO request", "leave requests",
      code_sampler("PTO"), "request_id|id|leave_id", "start_date end_date reason note", "hr"),
    O("job_posting", "job_posting|job|opening|vacancy", "job posting|opening|job ad", "job postings", code_sampler("JOB"),
      "job_id|posting_id|id", "job_title city remote skills amount", "hr"),
    O("interview", "interview|screening", "interview|screening call", "interviews", code_sampler("INT"), "interview_id|id",
      "person_name date time assignee duration", "hr"),
    O("expense_report", "expense|expense_report|reimbursement", "expense|expense report|reimbursement", "expenses",
      code_sampler("EXP"), "expense_id|report_id|id", "amount currency date note", "finance_ops"),
    O("shipment", "shipment|parcel|consignment", "shipment|parcel|package", "shipments", "tracking_number",
      "tracking_id|shipment_id|awb|tracking_number", "address weight carrier express", "logistics"),
    O("inventory_item", "inventory_item|stock_item|sku|product_stock", "stock item|inventory item|SKU", "inventory items", "sku",
      "sku|item_id|product_code", "product quantity folder threshold", "logistics"),
    O("purchase_order", "purchase_order|po|supplier_order", "purchase order|PO", "purchase orders", code_sampler("PO"),
      "po_number|order_id|id", "company amount due_date quantity product", "logistics"),
    O("assignment", "assignment|homework|coursework", "assignment|homework task", "assignments", code_sampler("ASG"),
      "assignment_id|id", "title due_date score description", "education"),
    O("student", "student|learner|pupil", "student|learner", "students", code_sampler("STU"), "student_id|learner_id|id",
      "person_name email department note", "education"),
    O("sprint", "sprint|iteration|cycle", "sprint|iteration", "sprints", code_sampler("SPR"), "sprint_id|id|iteration",
      "start_date end_date title notify", "project_mgmt"),
    O("milestone", "milestone|checkpoint|goal", "milestone|checkpoint", "milestones", code_sampler("MS"), "milestone_id|id",
      "title due_date assignee status", "project_mgmt"),
    O("timesheet_entry", "timesheet|time_entry|worklog", "time entry|timesheet entry|worklog", "time entries", code_sampler("TS"),
      "entry_id|id|worklog_id", "hours date note service", "project_mgmt"),
    O("wiki_page", "wiki_page|page|doc|article", "wiki page|doc page|knowledge base article", "wiki pages", "note_title",
      "page|page_title|title|slug", "space description tags public", "docs"),
    O("room_booking", "room_booking|meeting_room|room_reservation", "meeting room|room booking", "room bookings",
      code_sampler("RM"), "booking_id|reservation_id|id", "date time duration count", "workplace"),
    O("patient_record", "patient|patient_record|chart", "patient record|patient chart|patient", "patients", code_sampler("MRN"),
      "mrn|patient_id|record_number", "person_name phone note date", "clinic_admin"),
    O("lab_sample", "sample|specimen|lab_sample", "sample|specimen", "samples", code_sampler("SMP"), "sample_id|specimen_id|barcode",
      "sample_type temperature_c folder note", "lab"),
    O("reagent_order", "reagent_order|supply_order|lab_order", "reagent order|supply order", "reagent orders", code_sampler("RO"),
      "order_id|id", "reagent quantity company due_date", "lab"),
    O("listing", "listing|property|property_listing", "listing|property|house listing", "listings", "address",
      "listing|property_address|address", "amount count city public", "real_estate"),
    O("venue_booking", "venue_booking|venue|hall_booking", "venue booking|hall", "venue bookings", "venue", "venue|venue_name",
      "date count amount note", "events_venues"),
    O("blog_post", "blog_post|post|article|entry", "blog post|post|article", "blog posts", "blog_title", "post|post_title|slug|title",
      "description tags public date", "content"),
    O("newsletter", "newsletter|mailing|email_blast", "newsletter|mailing|email blast", "newsletters", code_sampler("NL"),
      "newsletter_id|id|issue", "title date time channel_pick", "content"),
    O("subscription", "subscription|plan|membership", "subscription|membership", "subscriptions", "company",
      "customer|account|subscriber", "plan seats currency notify", "billing"),
    O("refund", "refund|chargeback|credit", "refund|credit", "refunds", code_sampler("RF"), "refund_id|order_id|id",
      "amount reason currency notify", "billing"),
    O("contract", "contract|agreement", "contract|agreement", "contracts", code_sampler("CTR"), "contract_id|agreement_id|id",
      "company amount start_date end_date", "legal"),
    O("player_profile", "player|profile|player_profile|gamer", "player|player profile", "players", "gamertag",
      "gamertag|player_id|username", "region rating note", "gaming"),
    O("tournament", "tournament|league_event|cup", "tournament|cup", "tournaments", code_sampler("TRN"), "tournament_id|id",
      "title start_date amount count", "gaming"),
    O("field_plot", "field|plot|parcel_field", "field|plot", "fields", code_sampler("FLD"), "field_id|plot_id|id",
      "crop hours date note", "agriculture"),
    O("work_order", "work_order|maintenance_job|repair_order", "work order|maintenance job|repair", "work orders", code_sampler("WO"),
      "work_order_id|job_id|id", "description priority assignee due_date", "manufacturing"),
    O("donation", "donation|gift|pledge", "donation|pledge", "donations", code_sampler("DON"), "donation_id|id",
      "person_name amount campaign note", "nonprofit"),
    O("volunteer_shift", "volunteer_shift|shift|volunteer_slot", "volunteer shift|shift", "volunteer shifts", code_sampler("VS"),
      "shift_id|id", "person_name date time duration", "nonprofit"),
    O("housekeeping_request", "housekeeping_request|room_service|cleaning_request", "housekeeping request|cleaning",
      "housekeeping requests", "int:100:999", "room|room_number|room_no", "time note priority", "hospitality"),
)

# campaign field "campaign" in donation reuses the campaign kind
BANK.setdefault("campaign", F("campaign", "campaign", ("campaign", "fund", "appeal", "campaign_name"), ("Campaign", "Fundraising campaign"),
                              ("for {v}", "to the {v} campaign")))


# ------------------------------------------------------------------------------------------ actions
class Action:
    """shape: create | target | update | list | share | move | export | schedule | count | set_flag."""
    __slots__ = ("key", "verbs", "qverbs", "shape", "extra", "descs", "clash")

    def __init__(self, key, verbs, qverbs, shape, extra="", descs=(), clash=""):
        self.key, self.verbs, self.qverbs, self.shape = key, tuple(verbs.split("|")), tuple(qverbs.split("|")), shape
        self.extra = tuple(extra.split())
        self.descs = tuple(descs)
        self.clash = tuple(clash.split())


A = Action
ACTIONS = (
    A("create", "create|add|new|make|register|insert|open", "create|add|make|set up|open|log|put in|start", "create", "",
      ("Create a new {noun}.", "Creates a {noun} record and returns its ID.", "Add a {noun}.",
       "Use this to register a new {noun} in the system.")),
    A("delete", "delete|remove|drop|destroy|purge", "delete|remove|get rid of|erase|wipe", "target", "reason notify",
      ("Delete a {noun} permanently.", "Removes the {noun} with the given ID.", "Permanently delete a {noun}; cannot be undone.")),
    A("get", "get|fetch|read|describe|lookup|retrieve|show", "show me|pull up|look up|get|find|open|check", "target", "",
      ("Get a {noun} by ID.", "Fetch the details of one {noun}.", "Returns all fields of the {noun}.")),
    A("list", "list|search|find|query|browse|filter", "list|show all|find|search|show me all", "list", "limit sort",
      ("List {plural}.", "Search {plural} with optional filters.", "Returns a page of {plural} matching the filters.")),
    A("update", "update|edit|modify|patch|change", "update|change|edit|modify|set", "update", "",
      ("Update fields of a {noun}.", "Modify an existing {noun}; only the given fields change.", "Edit a {noun}."),
      "assign rename set_status"),
    A("archive", "archive|shelve|stash", "archive|put away|shelve", "target", "note",
      ("Archive a {noun} (it can be restored later).", "Move a {noun} to the archive.")),
    A("restore", "restore|unarchive|recover|undelete", "restore|bring back|recover|unarchive", "target", "",
      ("Restore an archived or deleted {noun}.", "Recover a {noun} from the archive.")),
    A("share", "share|send|forward", "share|send|forward", "share", "note",
      ("Share a {noun} with someone.", "Send a {noun} to a recipient.")),
    A("assign", "assign|delegate|hand_off|reassign", "assign|hand|give|delegate", "assign", "note",
      ("Assign a {noun} to a person.", "Change who is responsible for a {noun}."), "update"),
    A("export", "export|download|dump|generate_report", "export|download|give me a file of|generate a report of", "export", "",
      ("Export a {noun} to a file.", "Download the {noun} in a chosen format.")),
    A("duplicate", "duplicate|clone|copy", "duplicate|clone|copy|make a copy of", "target", "new_name",
      ("Duplicate a {noun}.", "Create a copy of an existing {noun}.")),
    A("approve", "approve|accept|sign_off", "approve|accept|sign off on|okay", "target", "note",
      ("Approve a pending {noun}.", "Mark a {noun} as approved.")),
    A("reject", "reject|decline|deny", "reject|decline|deny|turn down", "target", "reason",
      ("Reject a pending {noun}.", "Decline a {noun} with an optional reason.")),
    A("count", "count|tally|total", "how many|count the|tally up the", "count", "",
      ("Count {plural} matching filters.", "Returns the number of {plural}.")),
    A("move", "move|transfer|relocate", "move|transfer|relocate", "move", "",
      ("Move a {noun} to another folder.", "Relocate a {noun}.")),
    A("rename", "rename|retitle", "rename|retitle|call", "rename", "",
      ("Rename a {noun}.", "Give a {noun} a new name."), "update"),
    A("schedule", "schedule|plan|book|queue", "schedule|plan|book|line up", "schedule", "",
      ("Schedule a {noun} for a date and time.", "Book a {noun} in the calendar.")),
    A("subscribe", "subscribe|watch|follow", "subscribe me to|watch|follow|keep me posted on", "target", "",
      ("Subscribe to updates on a {noun}.", "Watch a {noun} for changes.")),
    A("lock", "lock|freeze", "lock|freeze", "target", "reason",
      ("Lock a {noun} so nobody can edit it.", "Freeze a {noun}.")),
    A("comment", "comment|annotate|add_note", "comment on|add a note to|annotate", "comment", "",
      ("Add a comment to a {noun}.", "Post a note on a {noun}.")),
    A("close", "close|resolve|complete|finish", "close|resolve|mark done|complete", "target", "note",
      ("Close a {noun}.", "Resolve or complete a {noun}.")),
    A("reopen", "reopen|resume|unclose", "reopen|open again|resume", "target", "reason",
      ("Reopen a closed {noun}.",)),
    A("tag", "tag|label|categorize", "tag|label|categorize", "tag", "",
      ("Attach tags to a {noun}.", "Label a {noun}.")),
    A("set_status", "set_status|mark|transition", "mark|move|set", "status", "",
      ("Set the status of a {noun}.", "Transition a {noun} to a new state."), "update"),
)
ACTIONS_BY_KEY = {a.key: a for a in ACTIONS}

# brand-like prefixes for tool names (invented product names; never said in the query)
BRAND_ONSETS = ("z", "qu", "br", "fl", "v", "l", "k", "tr", "pl", "n", "s", "gr", "m", "d", "x", "st", "h", "c")
BRAND_VOWELS = ("a", "e", "i", "o", "u", "io", "ea", "y", "ai")
BRAND_CODAS = ("x", "n", "ra", "lo", "mo", "nd", "sk", "lt", "ro", "ly", "va", "to", "ck", "z", "bo", "rix", "tek", "fy")


def brand(rng) -> str:
    s = _c(rng, BRAND_ONSETS) + _c(rng, BRAND_VOWELS) + _c(rng, BRAND_CODAS)
    if rng.random() < 0.3:
        s += _c(rng, BRAND_VOWELS) + _c(rng, ("", "n", "s", "x"))
    return s


GENERIC_APPS = tuple(PL.APPS)
