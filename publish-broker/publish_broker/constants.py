"""The names a bot's training data, its matcher and its answers share, written once.

The generated Rasa project (botproject) labels each example with its intent and source; the
matcher (matcher, nlu_components) reads them back, and the pool answers with FAQ_INTENT; the
paraphrases (paraphrase) and the matcher's lexical index leave STOPWORDS alone. The action
server, a separate service, names the intent once more (capture-actions/actions/bot_client.py).
"""

# The one retrieval intent of every bot: its response keys are the topics, "faq/t<id>".
FAQ_INTENT = "faq"
# Rasa's name for "no topic is close enough" (its FallbackClassifier's; the matcher's too).
FALLBACK_INTENT = "nlu_fallback"
# Questions the owner dismissed: an intent of their own that no rule answers.
DISMISSED_INTENT = "out_of_scope"
# Where an example came from (intent-level metadata "source" in the generated NLU data).
OWNER_SOURCE = "owner"  # a question or alternative the owner wrote
PARAPHRASE_SOURCE = "wordnet"  # a WordNet paraphrase of one
ANSWER_SOURCE = "answer"  # a topic's answer, taken from the bot's responses
DISMISSED_SOURCE = "dismissed"  # a question the owner dismissed: known to be out of scope

# Function words: never replaced by a paraphrase, left out of the matcher's lexical index
# (NLTK's stopword list would need a download).
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be been before being below
    between both but by can could did do does doing done down during each either else ever every
    few for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just let me might mine more most must my myself neither no nor not now
    of off on once only or other ought our ours ourselves out over own per please same shall she
    should so some such than that the their theirs them themselves then there these they this
    those though through thus to too under until up upon us very via was we were what whatever
    when whenever where whether which while who whom whose why will with within without would yes
    yet you your yours yourself yourselves anyone anything anybody someone something somebody
    everyone everything nobody nothing also get got much many lot lots thing things way
    """.split()
)
