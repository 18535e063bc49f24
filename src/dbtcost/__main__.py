from dbtcost.cli import main

main()
