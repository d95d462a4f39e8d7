"""Request dependencies: the objects the composition root put on `app.state`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crm_importer.adapters.contacts_client import ContactsClient
from crm_importer.adapters.files import DataFiles
from crm_importer.service_layer.dry_runs import DryRunRunner
from crm_importer.service_layer.exports import ExportRunner
from crm_importer.service_layer.worker import ImportWorker
from crm_importer.settings import ImporterSettings
from crm_shared.http import StoreDep as StoreDep


# Async: FastAPI runs a plain function in a thread, a hop that costs more than the look-up.
async def _files(request: Request) -> DataFiles:
    files: DataFiles = request.app.state.files
    return files


async def _settings(request: Request) -> ImporterSettings:
    settings: ImporterSettings = request.app.state.settings
    return settings


async def _worker(request: Request) -> ImportWorker:
    worker: ImportWorker = request.app.state.worker
    return worker


async def _exports(request: Request) -> ExportRunner:
    runner: ExportRunner = request.app.state.exports
    return runner


async def _dry_runs(request: Request) -> DryRunRunner:
    runner: DryRunRunner = request.app.state.dry_runs
    return runner


async def _contacts(request: Request) -> ContactsClient:
    contacts: ContactsClient = request.app.state.contacts
    return contacts


FilesDep = Annotated[DataFiles, Depends(_files)]
SettingsDep = Annotated[ImporterSettings, Depends(_settings)]
WorkerDep = Annotated[ImportWorker, Depends(_worker)]
ExportRunnerDep = Annotated[ExportRunner, Depends(_exports)]
DryRunsDep = Annotated[DryRunRunner, Depends(_dry_runs)]
ContactsDep = Annotated[ContactsClient, Depends(_contacts)]
