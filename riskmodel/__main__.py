from riskmodel.cli import main

main()
