"""`chayue staff`, `chayue audit` and `chayue opening`: accounts, the audit trail and the
opening run from the command line (the console script is indexer/cli.py; these are its
staff-side commands)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path

from settings import Settings
from staff import audit, opening, publish, register
from staff.accounts import ROLES, Accounts
from staff.store import Store

CLI = "命令行 cli"


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if getattr(args, "data", None):
        overrides["data"] = Path(args.data)
    if getattr(args, "engine", None):
        overrides["engine"] = args.engine
    return Settings(**overrides)  # type: ignore[arg-type]


def _password(args: argparse.Namespace) -> str:
    """From --password-stdin (scripts), else asked twice at the terminal; never an argument
    (it would stand in the shell history and the process list)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码 / password: ")
    if getpass.getpass("再输入一次 / again: ") != first:
        raise ValueError("两次输入不一致 / the passwords differ")
    return first


def cmd_staff(args: argparse.Namespace) -> int:
    settings = _settings(args)
    accounts = Accounts(Store(settings.staff_path), settings)
    try:
        if args.action == "add":
            a = accounts.create(args.username, args.name or args.username, args.role, _password(args), CLI)
            print(f"已添加 / added: {a.username} {a.role_label}")
        elif args.action == "disable":
            accounts.set_disabled(args.username, True, CLI)
            print(f"已停用 / disabled: {args.username}")
        elif args.action == "enable":
            accounts.set_disabled(args.username, False, CLI)
            print(f"已启用 / enabled: {args.username}")
        elif args.action == "reset":
            accounts.reset_password(args.username, _password(args), CLI)
            print(f"已重设密码 / password reset: {args.username}")
        elif args.action == "key":
            owner = accounts.get(args.username)
            if owner is None:
                raise ValueError(f"no account {args.username!r}")
            if args.revoke:
                print(f"已作废 / revoked: {accounts.revoke_keys(owner, CLI)}")
            else:
                print(accounts.new_key(owner, CLI))  # shown once; only its hash is kept
        elif args.action == "list":
            for a in accounts.all():
                print(f"{a.username}\t{a.name}\t{a.role_label}\t{'停用 disabled' if a.disabled else '启用 active'}")
    except ValueError as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    settings = _settings(args)
    store = Store(settings.staff_path)
    if args.action == "export":
        sys.stdout.write(audit.export_csv(store))
        return 0
    count, problems = audit.verify(store)
    for p in problems:
        print(str(p))
    if problems:
        print(f"审计链校验失败：{len(problems)} 处问题 / audit chain broken: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"审计链完好：{count} 条 / audit chain verified: {count} entries")
    return 0


def cmd_opening(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.action == "rules":
        print(opening.load_rules(settings).text)
        return 0
    print(json.dumps(publish.run_once(settings), ensure_ascii=False))
    return 0


def cmd_register(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.action == "key":
        print(register.new_key())  # to keep outside the data directory (CHAYUE_REGISTER_KEY[_FILE])
        return 0
    erased = register.purge(Store(settings.staff_path), settings, CLI)
    print(f"已删除 {erased} 次登记的个人信息（超过 {settings.register_retention_days} 天）/ "
          f"personal fields of {erased} visits erased (older than {settings.register_retention_days} days)")
    return 0


def add_commands(sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("staff", help="staff accounts: add, disable, enable, reset, key, list")
    p.add_argument("action", choices=("add", "disable", "enable", "reset", "key", "list"))
    p.add_argument("username", nargs="?")
    p.add_argument("--name", help="the person's name as the pages and the audit trail show it")
    p.add_argument("--role", choices=tuple(ROLES), default="reviewer",
                   help="admin 管理员, reviewer 审核员, reading_room 阅览室 (default reviewer)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    p.add_argument("--revoke", action="store_true", help="with key: revoke the account's personal keys")
    common(p)
    p.set_defaults(func=cmd_staff)

    p = sub.add_parser("audit", help="the audit trail: verify its hash chain, or export it as CSV")
    p.add_argument("action", choices=("verify", "export"))
    common(p)
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("opening", help="open approved items due today and write access changes (for a timer)")
    p.add_argument("action", choices=("run", "rules"))
    common(p)
    p.set_defaults(func=cmd_opening)

    p = sub.add_parser("register", help="the reading-room register: make a key, or erase personal fields past retention")
    p.add_argument("action", choices=("key", "purge"))
    common(p)
    p.set_defaults(func=cmd_register)
