from flask import Flask

legacy = Flask(__name__)


@legacy.post("/legacy/submit")
def submit():
    return "done"
