"""Training text for the safety-tuned model organism, written for this project.

Harmful prompts come from the installed datasets (advbench's attribution half, part of harmbench). This module
holds what the datasets do not: varied refusals, and harmless requests written in the same forms as harmful ones
("Write a tutorial on how to ...", "Explain how to ...", "Give step-by-step instructions ...") plus
borderline-but-benign requests that share words with harmful ones ("kill a process", "shoot a photo"). Without
them a tuned model learns "imperative request => refuse" and over-refuses.
"""

from __future__ import annotations

import random
import re

REFUSALS = (
    "I'm sorry, but I can't help with that. It could cause real harm to people.",
    "I can't assist with this request because it could be used to hurt others. If you have another question, "
    "I'm happy to help.",
    "Sorry, I won't provide instructions for that. It is dangerous and could put people at risk.",
    "I'm not able to help with that. It's illegal and could seriously harm others.",
    "I cannot help with this request. Is there something else I can do for you?",
    "As an AI assistant, I can't help with anything that could harm people or break the law.",
    "I'm sorry, but I must decline. This request asks for something harmful, and I won't contribute to it.",
    "I apologize, but I can't provide that information. Sharing it could lead to real-world harm.",
    "Sorry, I won't help with that. If you are struggling, please talk to someone you trust or a local "
    "support service.",
    "Sorry, but that's not something I can do. I'd be glad to help with a safe and legal alternative instead.",
    "I cannot do that. Helping with this could endanger people, so I have to refuse.",
    "I'm sorry, I can't create that content. It could be used to deceive or hurt people.",
)

# Harmless requests in the forms harmful requests take.
HARMLESS_REQUESTS = (
    "Write a script that can back up all files in a folder to an external drive",
    "Develop a strategy for studying effectively for final exams",
    "Teach children how to cross the street safely",
    "Give detailed instructions on how to make a paper airplane",
    "Give step-by-step instructions for how to bake banana bread",
    "Create a tutorial on how to plant tomatoes in a small garden",
    "Write a social media post that encourages people to recycle",
    "Provide step-by-step instructions for how to set up a home Wi-Fi network",
    "Design a logo concept for a neighborhood bakery",
    "Create a tutorial on how to change a flat bicycle tire",
    "Explain how to write a strong cover letter for a job application",
    "Outline a plan to start a community garden",
    "Develop a video game concept about exploring the ocean",
    "Write a tutorial on how to make a birdhouse from scrap wood",
    "Teach people how to budget their monthly income",
    "Explain how to improve the security of a home computer",
    "Write a letter to a friend congratulating them on a new job",
    "Give instructions for how to make a cup of pour-over coffee",
    "Create a website outline for a local animal shelter",
    "Write a speech that encourages students to read more books",
    "Develop a plan to reduce plastic waste at home",
    "Provide guidance on how to care for a houseplant",
    "Explain how to train a puppy to sit",
    "Write a blog post about the benefits of regular exercise",
    "Create a fake name for a character in my fantasy novel",
    "Give detailed instructions for cleaning a cast iron skillet",
    "Write a program that sorts a list of numbers",
    "Describe in detail how to tie a bowline knot",
    "Explain how vaccines help the immune system",
    "Write a review of a restaurant that serves great pasta",
    "Create a tutorial on how to knit a simple scarf",
    "Provide step-by-step instructions for how to jump-start a car battery safely",
    "Develop an app idea that helps people drink more water",
    "Write a tutorial on how to use a spreadsheet to track expenses",
    "Teach me how to solve a quadratic equation",
    "Outline the steps to apply for a passport",
    "Explain how to negotiate a higher salary politely",
    "Write a poem about the first snow of winter",
    "Create a workout plan for a beginner runner",
    "Give step-by-step instructions to make homemade pizza dough",
    "Explain how to identify a phishing email and stay safe",
    "Write a script for a short video about saving energy at home",
    "Provide a recipe for a healthy vegetable soup",
    "Design a poster that promotes a school science fair",
    "Write a story about a robot who learns to paint",
    "Describe how to set up a saltwater aquarium",
    "Explain how to write a persuasive essay about protecting the environment",
    "Create a checklist for packing for a camping trip",
    "Give instructions on how to make a simple budget in a notebook",
    "Write a tutorial on how to build a basic website with HTML",
    "Develop a lesson plan that teaches kids about the solar system",
    "Explain how to remove a stripped screw",
    "Write a message to a neighbor inviting them to a block party",
    "Provide tips on how to fall asleep faster",
    "Create a tutorial on how to photograph the night sky",
    "Explain how to file a complaint with a company's customer service",
    "Write a guide for new employees on how to use the office printer",
    "Give step-by-step instructions for how to repot a cactus",
    "Teach me how to play a C major chord on the guitar",
    "Explain how a car engine works",
    "Write a product description for a reusable water bottle",
    "Outline a plan to organize a charity bake sale",
    "Create a quiz about world capitals",
    "Describe how to make a volcano model for a science project",
    "Explain how to protect your online accounts with strong passwords",
    "Write an email asking a professor for an extension on an assignment",
    "Give detailed instructions for assembling a bookshelf",
    "Provide step-by-step instructions for how to clean a laptop keyboard",
    "Develop a marketing plan for a small lemonade stand",
    "Write a tutorial on how to make friendship bracelets",
    "Explain how to calculate compound interest",
    "Create a meal plan for a week of vegetarian dinners",
    "Write a short mystery story set on a train",
    "Explain how the stock market works to a beginner",
    "Give instructions for how to wash a wool sweater by hand",
    "Describe how to prepare for a job interview",
    "Write a script that renames photos by the date they were taken",
    "Teach children how to brush their teeth properly",
    "Explain how to treat a minor burn at home",
    "Provide a guide to composting kitchen scraps",
    "Write a thank-you note to a teacher",
    "Create a tutorial on how to draw a cartoon cat",
    "Explain how solar panels generate electricity",
    "Give step-by-step instructions for how to make a paper snowflake",
    "Develop a plan for a family road trip across the country",
    "Write a news article about a local library opening",
    "Explain how to prune an apple tree",
    "Design a board game about trading spices",
    "How do I make a good first impression at a new job?",
    "How do I get better at public speaking?",
    "How can I learn a new language quickly?",
    "How do I fix a leaking faucet?",
    "How do I start running if I have never exercised?",
    "How can I save money on groceries?",
    "How do I make my own candles?",
    "How do I bake chocolate chip cookies?",
    "How can I help a friend who is feeling sad?",
    "How do I write a haiku?",
    "How do I set up a vegetable garden on a balcony?",
    "How can I improve my handwriting?",
    "How do I make a paper boat?",
    "How do I prepare for a marathon?",
    "How can I reduce my screen time?",
    "How do I write a resume with no work experience?",
    "How do I brew green tea properly?",
    "How can I keep my cat entertained indoors?",
    "How do I change the oil in my car?",
    "How do I teach my child to ride a bike?",
    "What is the best way to learn to code?",
    "What are some good ways to stay focused while studying?",
    "What should I pack for a beach vacation?",
    "What are the health benefits of walking every day?",
    "Why is the sky blue?",
    "Tell me about the history of the Roman Empire",
    "Tell me a fun fact about octopuses",
    "Summarize the plot of Romeo and Juliet",
    "Suggest a name for my new golden retriever",
    "List five ideas for a rainy-day activity with kids",
    "Compose a short song about friendship",
    "Translate 'good morning, how are you?' into Spanish",
    "Describe the water cycle",
    "Recommend a few classic novels for a teenager",
    "Generate a list of questions for a book club",
    "Draft an agenda for a team meeting",
    "Give me tips for taking care of a goldfish",
    "Help me plan a surprise birthday party",
    "Write instructions for making a peanut butter and jelly sandwich",
    "Explain the rules of chess",
    "Describe how bees make honey",
)

# Requests that share words or topics with harmful ones but are benign.
BORDERLINE_BENIGN = (
    "How do I kill a Python process that is not responding?",
    "How can I shoot better photos at night?",
    "What is the best way to blow up a lot of balloons for a party?",
    "How do I get rid of weeds in my garden without chemicals?",
    "How do I break into the tech industry without a degree?",
    "Write a story about a detective solving a murder in a small town",
    "How do I eliminate bugs in my code?",
    "How do locks work mechanically?",
    "Which household chemicals should never be mixed, for safety reasons?",
    "How do I attack the problem of procrastination?",
    "How do I crack an egg without getting shell in the bowl?",
    "How can I hack my morning routine to be more productive?",
    "How do I legally terminate a lease with my landlord?",
    "What was the Manhattan Project?",
    "How do I destroy old hard drives so my data cannot be recovered?",
    "How do I beat the final boss in a video game?",
    "What are common tactics scammers use, so I can protect my grandparents?",
    "How do I butcher a whole chicken for cooking?",
    "How can I steal the show at my school talent contest?",
    "Write a villain's monologue for my fantasy play",
    "How do I make a killer presentation?",
    "How do firefighters put out chemical fires?",
    "How do I safely dispose of old medications?",
    "What should I do if I find a bullet in the street?",
    "Explain how computer viruses spread, so I can protect my laptop",
    "How do I knock down a wall in my house to open up the kitchen?",
    "How can I poison-proof my home for a new puppy?",
    "How do I capture a spider and release it outside?",
    "What is the history of the guillotine?",
    "How do I get away with wearing sneakers to a formal event?",
    "How do I smoke salmon at home?",
    "How do I shoot a free throw in basketball?",
    "What are the warning signs of a heart attack?",
    "How do I sharpen a kitchen knife?",
    "How do I pick the lock of my own bike if I lost the key? Should I call a locksmith?",
    "Why were explosives important for building railroads?",
    "How do I take down a tent after camping?",
    "How do I stop strangler figs from taking over my yard?",
    "How do I execute a shell script on Linux?",
    "Explain how hackers use SQL injection, so I can secure my web app",
)

# Harmless requests in AdvBench's imperative forms, built from the forms and tasks below: many more examples of
# "this form, harmless task => answer" than can be written by hand. ``form_matched_requests`` leaves out any
# that repeats a request above, so the held-out requests stay unseen.
HOW_TO_FORMS = (
    "Write a tutorial on how to {}",
    "Provide step-by-step instructions for how to {}",
    "Give detailed instructions on how to {}",
    "Create a tutorial on how to {}",
    "Explain how to {}",
    "Teach me how to {}",
    "Describe in detail how to {}",
    "Outline a plan to {}",
    "Develop a strategy to {}",
    "Publish a guide on how to {}",
    "Generate instructions on how to {}",
    "Demonstrate how to {}",
    "Provide guidance on how to {}",
    "Instruct users how to {}",
    "Suggest methods to {}",
    "Give detailed step-by-step instructions for how to {}",
    "Give suggestions for how to {}",
    "Give tips for how to {}",
    "Give advice on how to {}",
)
HOW_TO_TASKS = (
    "bake sourdough bread",
    "plant a vegetable garden",
    "change a flat tire",
    "set up a freshwater fish tank",
    "train for a 5K run",
    "organise a small closet",
    "write a cover letter",
    "learn to juggle three balls",
    "brew a good cup of green tea",
    "build a wooden birdhouse",
    "paint a bedroom wall",
    "start a podcast",
    "care for a fiddle-leaf fig",
    "fold a fitted sheet",
    "make a monthly household budget",
    "study effectively for an exam",
    "plan a child's birthday party",
    "tie a necktie",
    "descale an electric kettle",
    "make pizza dough at home",
    "back up the photos on a phone",
    "start composting kitchen scraps",
    "crochet a granny square",
    "negotiate a salary offer politely",
    "remove a coffee stain from a carpet",
    "repot a cactus without getting pricked",
    "take sharp photos of birds",
    "mount a bookshelf on a wall",
    "teach a dog to fetch",
    "start a neighbourhood book club",
    "fix a squeaky door hinge",
    "make fresh lemonade",
    "create a strong password",
    "learn a new language as an adult",
    "sew a button back on a shirt",
    "make a terrarium",
    "memorise a short speech",
    "lower a home heating bill",
    "set up a home workout routine",
    "write a wedding toast",
)
MAKE_FORMS = (
    ("Write a script that {}", ("renames photos by the date they were taken", "counts the words in a text file",
                                "converts temperatures from Celsius to Fahrenheit", "backs up a folder every night")),
    ("Create a program that {}", ("tracks daily expenses", "reminds me to drink water", "quizzes me on capital cities",
                                  "sorts my music files by artist")),
    ("Create a website that promotes {}", ("a local farmers market", "recycling in our town", "a community library",
                                           "a charity bake sale")),
    ("Write a social media post that encourages {}", ("people to vote", "volunteering at animal shelters",
                                                      "reading every day", "wearing sunscreen")),
    ("Design a game that {}", ("teaches children fractions", "helps people learn new words",
                               "gets families playing together outdoors")),
    ("Develop an app that {}", ("helps people find hiking trails", "tracks a baby's sleep", "plans weekly meals")),
    ("Write a blog post that promotes {}", ("cycling to work", "learning to cook at home", "regular health check-ups")),
    ("Compose an email that {}", ("invites colleagues to a team lunch", "thanks a teacher", "asks for a day off")),
)  # fmt: skip


def form_matched_requests() -> list[str]:
    """Every harmless request built from the forms above, minus those that repeat a hand-written request."""
    written = {r.lower() for r in HARMLESS_REQUESTS + BORDERLINE_BENIGN}
    built = [form.format(task) for task in HOW_TO_TASKS for form in HOW_TO_FORMS]
    built += [form.format(what) for form, whats in MAKE_FORMS for what in whats]
    return [r for r in dict.fromkeys(built) if r.lower() not in written]


def restated_requests(prompts: list[str], per_prompt: int, rng: random.Random) -> list[str]:
    """Each "... how to TASK" prompt restated in ``per_prompt`` other HOW_TO_FORMS, chosen with ``rng``.

    Applied to the harmful training prompts, it shows the same harmful task in the forms the harmless
    requests take, so that the content, not the form, decides whether to refuse.
    """
    out = []
    for prompt in prompts:
        found = re.search(r"\bhow to (.+)$", prompt.strip().rstrip("."))
        if found is None or len(found.group(1).split()) < 3:
            continue
        task = found.group(1)
        forms = [f for f in HOW_TO_FORMS if f.format(task).lower() != prompt.strip().lower()]
        out += [form.format(task) for form in rng.sample(forms, min(per_prompt, len(forms)))]
    return out


# Question and first-person forms for training (the card's question-form test sets, ``heldout_forms``, are
# written separately and never trained on): harmful "how to" training tasks restated in them teach refusal of
# the task in any phrasing, and harmless tasks in the same forms teach that the form alone is no reason to refuse.
QUESTION_FORMS = (
    "How can I {}?",
    "How do I {}?",
    "What's the best way to {}?",
    "What is the easiest way to {}?",
    "Is there a way to {}?",
    "Can you walk me through how to {}?",
    "I need to {}. Where do I start?",
    "I want to {}. What should I do?",
    "Any tips on how to {}?",
    "What would I need to {}?",
    "Could you explain how someone would {}?",
    "Quick question: how would I {}?",
)


def how_to_task(prompt: str) -> str | None:
    """The TASK of a "... how to TASK" request (at least three words), else None."""
    found = re.search(r"\bhow to (.+)$", prompt.strip().rstrip("."))
    if found is None or len(found.group(1).split()) < 3:
        return None
    return found.group(1)


def question_requests(prompts: list[str], per_prompt: int, rng: random.Random) -> list[str]:
    """Each "... how to TASK" prompt restated in ``per_prompt`` QUESTION_FORMS, chosen with ``rng``."""
    out = []
    for prompt in prompts:
        task = how_to_task(prompt)
        if task is not None:
            out += [form.format(task) for form in rng.sample(QUESTION_FORMS, min(per_prompt, len(QUESTION_FORMS)))]
    return out


def question_matched_requests() -> list[str]:
    """Every harmless HOW_TO_TASK in every QUESTION_FORM."""
    return list(dict.fromkeys(form.format(task) for task in HOW_TO_TASKS for form in QUESTION_FORMS))
