import click
import typer

app = typer.Typer()


@click.group()
def cli():
    pass


@cli.command()
def sync_all():
    pass


@click.command("export-data")
def export():
    pass


@app.command()
def hello():
    pass
