"""``python -m nova_hookspec_inventory``: print the inventory."""

from nova_hookspec_inventory import plugin

print(f"# {plugin.path}")
for record in plugin.records():
    print(record.uuid, record.hostname, record.project_id, record.reservation_id)
