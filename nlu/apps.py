from django.apps import AppConfig


class NluConfig(AppConfig):
    name = "nlu"
    verbose_name = "In-house NLU"
