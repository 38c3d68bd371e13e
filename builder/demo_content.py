"""What the demo assistant knows: intents, entities and a multi-step ordering flow."""

from __future__ import annotations

from typing import Any

ENTITIES: list[dict[str, Any]] = [
    {
        "name": "size",
        "kind": "list",
        "values": [
            {"value": "small", "synonyms": ["little", "personal", "10 inch"]},
            {"value": "medium", "synonyms": ["regular", "12 inch"]},
            {"value": "large", "synonyms": ["big", "family", "14 inch", "XL"]},
        ],
    },
    {
        "name": "topping",
        "kind": "list",
        "values": [
            {"value": "margherita", "synonyms": ["cheese", "plain"]},
            {"value": "pepperoni", "synonyms": ["salami"]},
            {"value": "hawaiian", "synonyms": ["pineapple", "ham and pineapple"]},
            {"value": "veggie", "synonyms": ["vegetarian", "vegetable"]},
            {"value": "mushroom", "synonyms": ["funghi", "mushrooms"]},
        ],
    },
    {"name": "order_number", "kind": "regex", "pattern": r"\bPP-?\d{4,6}\b"},
    {"name": "when", "kind": "builtin", "builtin": "datetime"},
]

INTENTS: dict[str, tuple[str, list[str]]] = {
    "order_pizza": (
        "The customer wants to order one or more pizzas.",
        [
            "I want to order a pizza",
            "can I get a large pepperoni",
            "I'd like a medium veggie pizza please",
            "order a pizza for delivery",
            "two large margheritas",
            "get me a small hawaiian",
            "I want pizza",
            "can I place an order",
            "one big mushroom pizza please",
            "I'd like to order food",
        ],
    ),
    "track_order": (
        "The customer asks where an order is or when it arrives.",
        [
            "where is my order",
            "track my pizza",
            "how long until my food arrives",
            "is my order on the way",
            "status of order PP-12345",
            "my pizza is late",
            "when will the driver get here",
            "has my order left yet",
        ],
    ),
    "cancel_order": (
        "The customer wants to cancel an order.",
        [
            "cancel my order",
            "I want to cancel the pizza",
            "please cancel order PP-4821",
            "stop my order",
            "I don't want the pizza anymore",
            "can I cancel",
            "call off my delivery",
            "cancel everything",
        ],
    ),
    "opening_hours": (
        "The customer asks when the restaurant is open.",
        [
            "when are you open",
            "what time do you close",
            "are you open on sunday",
            "opening hours",
            "is the shop open now",
            "until when can I order tonight",
            "do you open early on saturdays",
            "what are your hours",
        ],
    ),
    "menu": (
        "The customer asks what is on the menu, prices or ingredients.",
        [
            "what's on the menu",
            "what pizzas do you have",
            "do you have vegan options",
            "how much is a large pizza",
            "what toppings are there",
            "is there gluten free",
            "show me the menu",
            "what do you sell",
        ],
    ),
    "delivery_area": (
        "The customer asks whether the restaurant delivers to them.",
        [
            "do you deliver to my area",
            "do you deliver downtown",
            "how far do you deliver",
            "can you deliver to 5th avenue",
            "is delivery free",
            "what's the delivery fee",
            "do you deliver at night",
            "delivery zone",
        ],
    ),
    "greet": (
        "The customer says hello.",
        ["hello", "hi", "hi there", "good evening", "hey", "good morning", "hiya", "howdy"],
    ),
    "goodbye": (
        "The customer ends the conversation.",
        [
            "bye",
            "goodbye",
            "see you",
            "that's all thanks",
            "no that's everything",
            "have a nice day",
            "bye bye",
            "talk later",
        ],
    ),
    "human_handoff": (
        "The customer wants to talk to a person.",
        [
            "talk to a human",
            "can I speak to someone",
            "I want a real person",
            "get me an agent",
            "customer service please",
            "let me talk to the manager",
            "operator",
            "this bot is useless, a person please",
        ],
    ),
}

# Annotated examples so the span extractor learns sizes and toppings in context.
ANNOTATED: dict[str, list[dict[str, Any]]] = {
    "order_pizza": [
        {
            "text": "a large pepperoni pizza please",
            "entities": [
                {"start": 2, "end": 7, "entity": "size", "value": "large"},
                {"start": 8, "end": 17, "entity": "topping", "value": "pepperoni"},
            ],
        },
        {
            "text": "one small veggie",
            "entities": [
                {"start": 4, "end": 9, "entity": "size", "value": "small"},
                {"start": 10, "end": 16, "entity": "topping", "value": "veggie"},
            ],
        },
    ]
}

FLOW: dict[str, Any] = {
    "start": "welcome",
    "triggers": [
        {"intent": "order_pizza", "next": "ask_size"},
        {"intent": "track_order", "next": "track"},
        {"intent": "opening_hours", "next": "hours"},
        {"intent": "human_handoff", "next": "handoff"},
        {"intent": "goodbye", "next": "bye"},
    ],
    "steps": [
        {
            "id": "welcome", "type": "message", "x": 40, "y": 40,
            "text": "Welcome to Pizza Palace! What can I do for you?",
            "buttons": [
                {"label": "Order a pizza", "next": "ask_size"},
                {"label": "Track my order", "next": "track"},
                {"label": "Opening hours", "next": "hours"},
            ],
            "no_match": "faq",
        },
        {
            "id": "ask_size", "type": "capture", "x": 320, "y": 40,
            "entity": "size", "variable": "size",
            "prompt": "Which size would you like: small, medium or large?",
            "reprompt": "Sorry, we have small, medium and large.",
            "next": "ask_topping",
        },
        {
            "id": "ask_topping", "type": "capture", "x": 600, "y": 40,
            "entity": "topping", "variable": "topping",
            "prompt": "And which pizza? Margherita, pepperoni, hawaiian, veggie or mushroom.",
            "reprompt": "Pick one of margherita, pepperoni, hawaiian, veggie or mushroom.",
            "next": "is_large",
        },
        {
            "id": "is_large", "type": "condition", "x": 880, "y": 40,
            "branches": [{"variable": "size", "op": "eq", "value": "large", "next": "upsell"}],
            "else": "confirm",
        },
        {
            "id": "upsell", "type": "set", "x": 880, "y": 200,
            "variable": "extra", "value": " A large comes with free garlic bread.",
            "next": "confirm",
        },
        {
            "id": "confirm", "type": "message", "x": 1160, "y": 40,
            "text": "One {{size}} {{topping}} pizza, coming up!{{extra}} Anything else?",
            "no_match": "faq",
        },
        {
            "id": "track", "type": "message", "x": 320, "y": 240,
            "text": "Your order left the kitchen and will be with you in about 20 minutes.",
        },
        {
            "id": "hours", "type": "message", "x": 320, "y": 380,
            "text": "We are open every day from 11:00 to 23:00.",
        },
        {
            "id": "faq", "type": "kb_answer", "x": 40, "y": 240,
            "next": "anything_else", "no_answer": "fallback",
        },
        {
            "id": "anything_else", "type": "message", "x": 40, "y": 520,
            "text": "Anything else I can do for you?", "no_match": "faq",
        },
        {
            "id": "fallback", "type": "message", "x": 40, "y": 380,
            "text": "Sorry, I didn't get that. I can take an order, track one or give our hours.",
        },
        {
            "id": "handoff", "type": "end", "x": 600, "y": 380, "handoff": True,
            "text": "Let me get someone from the team for you.",
        },
        {"id": "bye", "type": "end", "x": 600, "y": 240, "text": "Thanks for visiting!"},
    ],
    "variables": ["extra"],
}  # fmt: skip

# The demo's knowledge base: what the flow's knowledge-base step answers from (file name: text).
KNOWLEDGE = {
    "pizza-palace-faq.md": """# Pizza Palace FAQ

## Allergens and diets
Every pizza can be made on a gluten-free base for 2 euros more; it is baked on a separate stone,
but our kitchen handles wheat flour, so we cannot promise it is free of traces. Vegan cheese made
from cashews is available on every pizza at no extra cost. Our dough contains no eggs or milk.

## Delivery
We deliver within 5 km of the shop, every day from 11:00 to 22:30. Delivery is free for orders
over 20 euros; below that it costs 2.50 euros. A typical delivery takes 30 to 40 minutes.

## Payment
You can pay by card, Apple Pay, Google Pay or cash on delivery. Meal vouchers are accepted in the
shop only.
""",
    "pizza-palace-about.md": """# About Pizza Palace

## Our kitchen
Our dough is made fresh every morning with Italian 00 flour and rests for 48 hours before it is
baked in a wood-fired oven at 450 °C.

## Groups and parties
For parties of more than 10 people, call the shop on 020 7946 0321 a day ahead; we prepare a
group menu with a 10% discount.
""",
}
