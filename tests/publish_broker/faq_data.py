"""A small office FAQ written for these tests, and versions (publish-api JSON) made of it."""

# (question, alternatives, answer, a paraphrase nobody wrote down, as an asker might type it)
OFFICE_FAQ = [
    ("How do I reset my password?", ["I forgot my password"], "Use the self-service portal.",
     "how can I change my forgotten password"),
    ("Can I book a meeting room?", [], "Rooms are booked in the calendar app.",
     "how do I reserve a conference room"),
    ("What are the office opening hours?", [], "The office is open 8am to 6pm.",
     "when does the office open"),
    ("Where do I submit my expense report?", [], "Expenses go through the finance portal.",
     "where should expense claims be submitted"),
    ("How do I connect to the VPN?", [], "Install the VPN client from the software centre.",
     "VPN connection from home"),
    ("Is there parking for employees?", [], "The garage on level -1 is free for staff.",
     "can staff park their car at the building"),
    ("How many vacation days do I get?", [], "25 days a year.",
     "what is my holiday allowance"),
    ("Who do I contact about payroll?", [], "Write to payroll@example.com.",
     "question about my salary payment"),
    ("How do I order a new laptop?", [], "Open a hardware request ticket.",
     "I need a replacement computer"),
    ("Where is the printer?", [], "Next to the kitchen on each floor.",
     "where can I print documents"),
    ("How do I request sick leave?", [], "Tell your manager and log it in the HR tool.",
     "I am ill and cannot come to work"),
    ("What is the wifi password for guests?", [], "It is on the card at reception.",
     "guest wireless network password"),
    ("How do I get a new badge?", ["I lost my access badge"], "Reception prints badges.",
     "my badge is lost, how do I replace it"),
    ("Can I work from home?", [], "Up to two days a week, with your manager's agreement.",
     "remote working policy"),
    ("How do I install software on my computer?", [], "Use the software centre.",
     "installing an application on my laptop"),
    ("Where can I find the holiday calendar?", [], "On the intranet home page.",
     "list of public holidays this year"),
    ("How do I book a business trip?", [], "Use the travel booking tool.",
     "arranging travel for a customer visit"),
    ("Who is the fire warden on my floor?", [], "See the poster by the lifts.",
     "fire safety contact person"),
    ("How do I join the company pension plan?", [], "Enrol in the benefits portal.",
     "signing up for retirement savings"),
    ("Where can I get lunch nearby?", [], "The canteen on floor 2 opens at noon.",
     "where is the canteen"),
]

UNRELATED_QUESTIONS = [
    "What is the capital of France?",
    "How do I cook pasta al dente?",
    "Who won the football world cup in 2018?",
    "Tell me a joke about cats",
    "What is the square root of 144?",
]


def faq_version(count: int, version_id: str = "v-test") -> dict:
    """A version (GET /v1/versions/{id} JSON) with the first ``count`` topics of OFFICE_FAQ."""
    topics = [
        {"id": index + 1, "question": q, "alternatives": alts, "answer": answer}
        for index, (q, alts, answer, _) in enumerate(OFFICE_FAQ[:count])
    ]
    return {"id": version_id, "digest": "x", "team_id": "T1", "user_id": "U1",
            "created_at": "2026-01-01T00:00:00Z", "topics": topics}
